// Package registry is streamflix's service registry and the home of the
// module contract every domain package follows.
//
// # The module contract
//
// A domain module is one package under internal/ (user, auth, content,
// reco, streaming, payment, notify) that owns one slice of the business:
// its Postgres schema, its routes, its jobs and its queue. A new module is
// written by copying an existing one; every module has the same shape:
//
//	internal/<name>/
//	  doc.go        what the module owns (schema, routes, jobs, queue) and what it needs
//	  <name>.go     domain types, Config, Deps, Service and New; error values
//	  deps.go       every interface the module needs from another module
//	  store.go      all of its SQL (or store_<thing>.go when it is large)
//	  http.go       type Handler, NewHandler(*Service), (*Handler).Routes(api.Routes)
//	  jobs.go       its River job args and workers (when it has jobs)
//	  module.go     (*Service).Module(version) registry.Module
//	  *_test.go     in-package tests against real Postgres (pgtest), Redis, River
//
// Construction. A module is built once, by
//
//	func New(cfg Config, deps Deps) (*Service, error)
//
// Config holds plain settings (durations, URLs, limits) read by
// cmd/streamflix from the environment; a module never reads the
// environment. Config.withDefaults fills zero values with the defaults
// stated in the fields' comments, and Config.validate reports a bad value
// naming its field. Deps holds the connections (DB, Log) and the
// interfaces of deps.go. Every Service field is unexported and nothing is
// set after New returns: there are no setters. Where a dependency exists
// only after every module is built (River's client needs every module's
// workers), the module takes a handle that resolves when called, such as
// queue.Deferred, never a setter.
//
// Dependencies. deps.go declares, in the consumer's words, each interface
// the module needs from another module, one to three methods each, with
// the module's own view types (notify.Recipient, auth.Account). Two
// modules that need the same thing each declare their own interface
// (user and auth both declare a Notifier); cmd/streamflix/wire.go adapts
// concrete services to them, with one generic adapter where interfaces
// are alike, and resolves its target when called so that the order in
// which modules are built does not matter. A domain package imports no
// other domain package (a test in cmd/streamflix checks it); internal/platform
// imports no domain package, no registry and no gateway.
//
// Transactions. A module writes only its own schema, and no SQL joins or
// references another module's schema. A module's method may join a
// caller's transaction (a *sqlx.Tx argument, methods named ...Tx) only to
// enqueue work: inserting a River job (notify.EnqueueTx, auth.ForgetUserTx)
// so that a rolled-back change sends nothing and a committed one is never
// lost. Anything else between modules goes through an interface call
// outside the caller's transaction, or through a job. The one standing
// exception is auth's credentials, written in the sign-up transaction by
// user (auth.SetTx): an account without its password must never commit.
//
// Registration. Module returns a Module describing the module to the
// registry: its routes, its workers and job kinds, its periodic jobs, its
// health check, and its queue (name, concurrency). cmd/streamflix adds
// each module with one openX function and one line in Open, and has no
// per-module special case beyond that function.
//
// Jobs. A module's jobs go to its own queue, named after the module. Each
// worker states a Timeout that fits the work (a short job some seconds, a
// transcode hours); the queue's rescue window is derived from the short
// jobs' timeouts, so a job of a crashed instance is retried within about
// two minutes, and River leaves a running job whose own timeout is longer
// than the window alone until that timeout has passed. A module whose
// jobs run long keeps its own liveness for them (streaming's transcodes
// heartbeat, and a short takeover job requeues a video whose run went
// quiet) and puts such short jobs on a further queue of its own
// (Module.Queues, named <module>_<purpose>) so they never wait behind the
// long ones.
//
// # The registry
//
// Every module registers its name, version, health check, routes and job
// kinds; every running instance records itself in Postgres (schema
// "registry") and heartbeats, and instances whose heartbeat is older than
// the TTL drop out.
package registry
