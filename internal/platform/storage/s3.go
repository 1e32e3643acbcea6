package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Options configures an S3 store.
type S3Options struct {
	// Endpoint is the server's URL, e.g. https://s3.eu-west-1.amazonaws.com
	// or http://127.0.0.1:7070; http:// turns TLS off.
	Endpoint string
	Bucket   string
	// AccessKey and SecretKey sign requests; they are never logged.
	AccessKey string
	SecretKey string
	// Region of the bucket (default "us-east-1").
	Region string
	// Transport replaces the HTTP transport, for tests.
	Transport http.RoundTripper
}

// s3PartSize is the size of each part of a multipart upload, and the
// most a Put holds in memory: an object of unknown length up to this
// size goes in one PUT, a larger one in parts of this size.
const s3PartSize = 8 << 20

// S3 is a Store in a bucket of an S3-compatible server (AWS, versitygw,
// MinIO, Ceph): the object under "a/b.jpg" is the bucket's object
// "a/b.jpg". Path-style addressing, so any server works. A PUT is atomic:
// readers see the old object or the new one, and a reader that seeks asks
// for the version it opened (If-Match), never a mix.
type S3 struct {
	c      *minio.Client
	bucket string
	bufs   sync.Pool
}

// NewS3 returns a store in o.Bucket. It does not contact the server: a
// server that is down makes each call fail, not NewS3.
func NewS3(o S3Options) (*S3, error) {
	u, err := url.Parse(o.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("storage: S3 endpoint %q is not an http(s) URL", o.Endpoint)
	}
	if o.Bucket == "" {
		return nil, errors.New("storage: S3 bucket is empty")
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""),
		Secure:       u.Scheme == "https",
		Region:       o.Region,
		BucketLookup: minio.BucketLookupPath,
		Transport:    o.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("storage: S3 client: %w", err)
	}
	s := &S3{c: c, bucket: o.Bucket}
	s.bufs.New = func() any { b := make([]byte, s3PartSize); return &b }
	return s, nil
}

// EnsureBucket creates the bucket when it does not exist.
func (s *S3) EnsureBucket(ctx context.Context) error {
	ok, err := s.c.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("storage: bucket %s: %w", s.bucket, err)
	}
	if ok {
		return nil
	}
	if err := s.c.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{}); err != nil {
		if e := minio.ToErrorResponse(err); e.Code == "BucketAlreadyOwnedByYou" || e.Code == "BucketAlreadyExists" {
			return nil
		}
		return fmt.Errorf("storage: make bucket %s: %w", s.bucket, err)
	}
	return nil
}

// Put uploads r. Up to 8 MiB go in one PUT from memory; a longer stream
// goes as a multipart upload of 8 MiB parts through one buffer, which the
// server assembles only when the last part is in, so a failed Put leaves
// the old object (and aborts the upload).
func (s *S3) Put(ctx context.Context, key string, r io.Reader) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	buf := *bp
	r = ctxReader{ctx: ctx, r: r}
	opts := minio.PutObjectOptions{ContentType: ContentType(key)}
	n, err := io.ReadFull(r, buf)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		_, err = s.core().PutObject(ctx, s.bucket, key, bytes.NewReader(buf[:n]), int64(n), "", "", opts)
		return s.putErr(ctx, key, err)
	}
	if err != nil {
		return s.putErr(ctx, key, err)
	}
	c := s.core()
	id, err := c.NewMultipartUpload(ctx, s.bucket, key, opts)
	if err != nil {
		return s.putErr(ctx, key, err)
	}
	var parts []minio.CompletePart
	for part := 1; ; part++ {
		p, err := c.PutObjectPart(ctx, s.bucket, key, id, part, bytes.NewReader(buf[:n]), int64(n), minio.PutObjectPartOptions{})
		if err != nil {
			return s.abort(ctx, key, id, err)
		}
		parts = append(parts, minio.CompletePart{PartNumber: part, ETag: p.ETag})
		n, err = io.ReadFull(r, buf)
		if n == 0 && errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return s.abort(ctx, key, id, err)
		}
	}
	_, err = c.CompleteMultipartUpload(ctx, s.bucket, key, id, parts, opts)
	if err != nil {
		return s.abort(ctx, key, id, err)
	}
	return nil
}

func (s *S3) core() minio.Core { return minio.Core{Client: s.c} }

func (s *S3) abort(ctx context.Context, key, id string, err error) error {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = s.core().AbortMultipartUpload(actx, s.bucket, key, id)
	return s.putErr(ctx, key, err)
}

func (s *S3) putErr(ctx context.Context, key string, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("storage: put %s: %w", key, ctx.Err())
	}
	return fmt.Errorf("storage: put %s: %w", key, err)
}

// Open starts a GET of the object: reading streams that response. A Seek
// to elsewhere starts a ranged GET of the same version (If-Match its
// ETag), which fails rather than mix in a newer one.
func (s *S3) Open(ctx context.Context, key string) (*Object, error) {
	if err := ValidKey(key); err != nil {
		return nil, err
	}
	body, oi, _, err := s.core().GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, s.err(key, err)
	}
	return &Object{ReadSeekCloser: &s3Reader{s: s, ctx: ctx, key: key, etag: oi.ETag, size: oi.Size, body: body}, Info: s3info(key, oi)}, nil
}

// s3Reader reads an object through one GET, and seeks with ranged GETs.
type s3Reader struct {
	s         *S3
	ctx       context.Context
	key, etag string
	size      int64
	body      io.ReadCloser // positioned at bodyAt, or nil
	bodyAt    int64
	off       int64 // where the next Read starts
}

func (r *s3Reader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	if r.body != nil && r.bodyAt != r.off {
		r.body.Close()
		r.body = nil
	}
	if r.body == nil {
		opts := minio.GetObjectOptions{}
		if err := opts.SetMatchETag(r.etag); err != nil {
			return 0, err
		}
		if err := opts.SetRange(r.off, 0); err != nil {
			return 0, err
		}
		body, _, _, err := r.s.core().GetObject(r.ctx, r.s.bucket, r.key, opts)
		if err != nil {
			return 0, r.s.err(r.key, err)
		}
		r.body, r.bodyAt = body, r.off
	}
	n, err := r.body.Read(p)
	r.off += int64(n)
	r.bodyAt = r.off
	if errors.Is(err, io.EOF) && r.off < r.size {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (r *s3Reader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.size
	default:
		return 0, errors.New("storage: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("storage: negative position")
	}
	r.off = offset
	return offset, nil
}

func (r *s3Reader) Close() error {
	if r.body != nil {
		return r.body.Close()
	}
	return nil
}

// Stat asks for the object's head.
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	if err := ValidKey(key); err != nil {
		return Info{}, err
	}
	oi, err := s.c.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return Info{}, s.err(key, err)
	}
	return s3info(key, oi), nil
}

// Delete removes the object; S3 answers a missing one with success.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	if err := s.c.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return s.err(key, err)
	}
	return nil
}

// List pages through the bucket's keys under prefix, in key order.
func (s *S3) List(ctx context.Context, prefix string, fn func(Info) error) error {
	if err := validPrefix(prefix); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the lister's goroutine when fn ends the walk
	for oi := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if oi.Err != nil {
			return s.err(prefix, oi.Err)
		}
		if ValidKey(oi.Key) != nil || strings.HasSuffix(oi.Key, "/") {
			continue // not one of ours
		}
		if err := fn(s3info(oi.Key, oi)); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func s3info(key string, oi minio.ObjectInfo) Info {
	return Info{Key: key, Size: oi.Size, ModTime: oi.LastModified.UTC(), ContentType: ContentType(key)}
}

// err maps S3's "no such key" to ErrNotFound.
func (s *S3) err(key string, err error) error {
	if e := minio.ToErrorResponse(err); e.Code == "NoSuchKey" || e.StatusCode == http.StatusNotFound && e.Code != "NoSuchBucket" {
		return ErrNotFound
	}
	return fmt.Errorf("storage: %s: %w", key, err)
}
