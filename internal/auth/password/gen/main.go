// Command gen writes common_passwords.txt.gz, the list of common and breached
// passwords that package password embeds.
//
// Source: github.com/trustelem/zxcvbn v1.0.1 (MIT), a Go port of Dropbox's
// zxcvbn. Its data/passwords.txt ranks 47,023 passwords from a leaked-password
// corpus, each seen at least 11 times; its frequency package exports the top
// 30,000 of them, minus words zxcvbn files under names or English words. We
// take the union of both, lowercased, deduplicated and sorted, one per line,
// gzip'd without a timestamp so that regenerating gives the same bytes.
//
// Run it through `go generate ./internal/auth/password/`. It needs the module
// in the module cache, which building this command brings.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/trustelem/zxcvbn/frequency"
)

const module = "github.com/trustelem/zxcvbn"

func main() {
	out := flag.String("o", "common_passwords.txt.gz", "output file")
	flag.Parse()
	if err := run(*out); err != nil {
		log.Fatalf("gen: %v", err)
	}
}

func run(out string) error {
	words := map[string]struct{}{}
	add := func(w string) {
		w = strings.ToLower(strings.TrimSpace(w))
		if w != "" {
			words[w] = struct{}{}
		}
	}
	for _, w := range frequency.FrequencyLists["passwords"] {
		add(w)
	}
	fromFreq := len(words)

	// The raw ranked list ships in the module zip but in no Go package, so
	// find the module's directory the way the go command sees it.
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module).Output()
	if err != nil {
		return fmt.Errorf("locate %s: %w", module, err)
	}
	raw, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(dir)), "data", "passwords.txt"))
	if err != nil {
		return fmt.Errorf("read raw list: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		// Lines are "password<spaces>count".
		if f := strings.Fields(sc.Text()); len(f) > 0 {
			add(f[0])
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("scan raw list: %w", err)
	}

	list := make([]string, 0, len(words))
	for w := range words {
		if strings.ContainsAny(w, "\n\r") {
			continue
		}
		list = append(list, w)
	}
	slices.Sort(list)

	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return err
	}
	for _, w := range list {
		zw.Write([]byte(w))
		zw.Write([]byte{'\n'})
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("gzip: %w", err)
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	log.Printf("gen: %d passwords (%d from the frequency list), %d bytes gzip'd, to %s", len(list), fromFreq, buf.Len(), out)
	return nil
}
