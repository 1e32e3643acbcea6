package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/user"
)

// adminCmd runs operator commands against the database.
func adminCmd(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "create-user" {
		fmt.Fprint(stderr, "streamflix admin: want create-user --email EMAIL [--admin] [--password-stdin]\n")
		return 2
	}
	fs := flag.NewFlagSet("streamflix admin create-user", flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "email address of the account")
	admin := fs.Bool("admin", false, "give the account the admin role")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	name := fs.String("name", "", "name of the first profile (default: the email's local part)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *email == "" {
		fmt.Fprint(stderr, "streamflix admin create-user: --email is required\n")
		return 2
	}
	// Settings come from the environment, as for serve.
	cfg, _, code := loadConfig("streamflix admin", nil, getenv, stdout, stderr)
	if cfg == nil {
		return code
	}
	cfg.HTTPAddr = "127.0.0.1:0"
	pw, generated := "", false
	if *fromStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && err != io.EOF {
			fmt.Fprintf(stderr, "streamflix admin create-user: read password: %v\n", err)
			return 1
		}
		pw = strings.TrimRight(line, "\r\n")
	} else {
		var b [18]byte
		_, _ = rand.Read(b[:])
		pw, generated = base64.RawURLEncoding.EncodeToString(b[:]), true
	}
	m := NewMain(cfg, zerolog.New(stderr).Level(zerolog.WarnLevel), Version())
	defer m.Close()
	if err := m.Open(ctx); err != nil {
		fmt.Fprintf(stderr, "streamflix admin create-user: %v\n", err)
		return 1
	}
	roles := []string{user.RoleViewer}
	if *admin {
		roles = append(roles, user.RoleAdmin)
	}
	// The verification email is not needed: the operator vouches for the address.
	acc, err := m.Users.CreateVerified(ctx, user.SignUpInput{Email: *email, Password: pw, Name: *name}, roles...)
	if err != nil {
		fmt.Fprintf(stderr, "streamflix admin create-user: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "created %s (%s) with roles %s\n", acc.Email, acc.ID, strings.Join(acc.Roles, ","))
	if generated {
		fmt.Fprintf(stdout, "password: %s\n", pw)
	}
	return 0
}
