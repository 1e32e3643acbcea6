package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	_ "github.com/lib/pq" // registers the "postgres" driver
)

// privateDirPrefix names the temporary directories of private clusters,
// under os.TempDir().
const privateDirPrefix = "pgtest-"

var private struct {
	once sync.Once
	url  string
	err  error
}

// privateURL starts this process's private cluster on first use and returns
// its admin URL.
func privateURL() (string, error) {
	private.once.Do(func() {
		private.url, private.err = startPrivate()
	})
	return private.url, private.err
}

var errPortInUse = errors.New("port in use")

func startPrivate() (string, error) {
	bin := findPGBin()
	if bin == "" {
		return "", fmt.Errorf("%s is not set and the PostgreSQL server binaries (initdb, postgres) are not in /usr/lib/postgresql/*/bin or PATH: install them with `apt-get install -y postgresql`, or point %s at a server (scripts/services.sh start; eval \"$(scripts/services.sh env)\")", EnvURL, EnvURL)
	}
	// initdb and postgres refuse to run as root.
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		pu, err := user.Lookup("postgres")
		if err != nil {
			return "", fmt.Errorf("running as root, the private cluster must run as user postgres, which is missing (`apt-get install -y postgresql` creates it): %w", err)
		}
		uid, _ := strconv.ParseUint(pu.Uid, 10, 32)
		gid, _ := strconv.ParseUint(pu.Gid, 10, 32)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}
	}

	removeStaleDirs()
	dir, err := os.MkdirTemp("", privateDirPrefix)
	if err != nil {
		return "", fmt.Errorf("private cluster: %w", err)
	}
	// owner.pid lets a later process remove this directory once we are gone.
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return "", fmt.Errorf("private cluster: %w", err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return "", fmt.Errorf("private cluster: %w", err)
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres",
		"--auth=trust", "-E", "UTF8", "--locale=C", "-N")
	initdb.Dir = dir
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("private cluster: initdb in %s: %w\n%s", dir, err, out)
	}
	for attempt := 0; ; attempt++ {
		u, err := runPostgres(bin, dir, data, cred)
		if errors.Is(err, errPortInUse) && attempt < 5 {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("private cluster in %s: %w", dir, err)
		}
		return u, nil
	}
}

// runPostgres starts postgres on a free port and waits until it accepts
// connections. The server receives SIGINT (fast shutdown) when this process
// dies, however it dies.
func runPostgres(bin, dir, data string, cred *syscall.Credential) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	logPath := filepath.Join(dir, "postgres.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return "", err
	}
	args := []string{"-D", data, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=", // TCP only: no socket path length limits
		"-c", "max_connections=200",
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
	}
	started := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		// Pdeathsig fires when the thread that forked the child exits, not
		// the process, so fork from a thread that lives as long as postgres.
		runtime.LockOSThread()
		defer close(exited)
		defer logf.Close()
		cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
		cmd.Dir = dir
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGINT}
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
	}()
	if err := <-started; err != nil {
		return "", fmt.Errorf("start postgres: %w", err)
	}

	u := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	db, err := sql.Open("postgres", u)
	if err != nil {
		return "", err
	}
	defer db.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-exited:
			log, _ := os.ReadFile(logPath)
			if strings.Contains(string(log), "could not bind") || strings.Contains(string(log), "already in use") {
				return "", errPortInUse
			}
			return "", fmt.Errorf("postgres exited during startup; %s:\n%s", logPath, log)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		var got string
		err := db.QueryRowContext(ctx, `SELECT current_setting('data_directory')`).Scan(&got)
		cancel()
		if err == nil {
			// Another server could have taken the port between freePort and
			// postgres binding it; make sure we reached ours.
			if filepath.Clean(got) != filepath.Clean(data) {
				select {
				case <-exited: // ours failed to bind; its data directory is free again
				case <-time.After(30 * time.Second):
					return "", fmt.Errorf("port %d answered by another server (data directory %s) and ours did not exit", port, got)
				}
				return "", errPortInUse
			}
			return u, nil
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			return "", fmt.Errorf("postgres not ready after 60s: %w; %s:\n%s", err, logPath, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// findPGBin returns the newest /usr/lib/postgresql/*/bin holding initdb and
// postgres, else the directory of initdb on PATH, else "".
func findPGBin() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	if p, err := exec.LookPath("initdb"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		dirs = append(dirs, filepath.Dir(p))
	}
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d
		}
	}
	return ""
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExec(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// removeStaleDirs removes the directories of private clusters whose test
// process and postmaster are both gone.
func removeStaleDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), privateDirPrefix+"*"))
	for _, d := range dirs {
		owner, ok := readPID(filepath.Join(d, "owner.pid"))
		if !ok || alive(owner) {
			continue // being created, or in use
		}
		if pm, ok := readPID(filepath.Join(d, "data", "postmaster.pid")); ok && alive(pm) {
			continue // still shutting down
		}
		_ = os.RemoveAll(d)
	}
}

// readPID reads the process id on the first line of path.
func readPID(path string) (int, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	return pid, err == nil && pid > 0
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
