// The end-to-end harness: the real streamflix binary on a fresh database of
// the test Postgres, the test Redis under a prefix of its own, a loopback
// SMTP server (e2e/smtpd), a catalog made through the admin API, and
// Debian's Chromium driven by playwright-core.
import { spawn, execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { chromium } from 'playwright-core'

const run = promisify(execFile)
export const webDir = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const repoDir = resolve(webDir, '..')

// Chromium flags that work headless on these machines (FACTS.md).
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

function chromiumPath() {
  for (const p of [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser']) {
    if (p && existsSync(p)) return p
  }
  throw new Error('Chromium not found: apt-get install -y chromium (scripts/deps.sh test does), or set CHROMIUM_PATH')
}

function psqlPath() {
  for (const d of (process.env.PATH ?? '').split(':')) if (d && existsSync(join(d, 'psql'))) return join(d, 'psql')
  const lib = '/usr/lib/postgresql'
  if (existsSync(lib)) {
    for (const v of readdirSync(lib).sort().reverse()) if (existsSync(join(lib, v, 'bin/psql'))) return join(lib, v, 'bin/psql')
  }
  throw new Error('psql not found: apt-get install -y postgresql-client')
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer()
    s.unref()
    s.on('error', rej)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => res(port))
    })
  })
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

// start brings everything up; stop() tears it down, database included.
export async function start() {
  const adminURL = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL
  if (!adminURL) {
    throw new Error('Set TEST_DATABASE_URL (a Postgres URL whose user may create databases); make test sets it')
  }
  const redisURL = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? ''
  const id = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`
  const tmp = mkdtempSync(join(tmpdir(), 'streamflix-e2e-'))
  const mailDir = join(tmp, 'mail')
  const t0 = Date.now()
  const log = (msg) => console.log(`# e2e ${((Date.now() - t0) / 1000).toFixed(1)}s: ${msg}`)
  const cleanups = []
  const h = { tmp, mailDir, log, id }
  h.stop = async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn()
      } catch (e) {
        console.error('# cleanup:', e.message)
      }
    }
    rmSync(tmp, { recursive: true, force: true })
  }

  try {
    // The binary (with the app just built into web/dist) and the SMTP server.
    log('go build')
    const bin = join(tmp, 'streamflix')
    const smtpBin = join(tmp, 'smtpd')
    await Promise.all([
      run('go', ['build', '-o', bin, './cmd/streamflix'], { cwd: repoDir, maxBuffer: 1 << 24 }),
      run('go', ['build', '-o', smtpBin, './web/e2e/smtpd'], { cwd: repoDir, maxBuffer: 1 << 24 }),
    ])

    // A fresh database for this run.
    const dbName = `sf_e2e_${id}`
    const psql = psqlPath()
    await run(psql, [adminURL, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', `CREATE DATABASE ${dbName}`])
    cleanups.push(() => run(psql, [adminURL, '-X', '-q', '-c', `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`]))
    const u = new URL(adminURL)
    u.pathname = '/' + dbName
    const dbURL = u.toString()

    // SMTP on loopback.
    const smtp = spawn(smtpBin, ['-dir', mailDir, '-addr', '127.0.0.1:0'], { stdio: ['pipe', 'pipe', 'inherit'] })
    cleanups.push(() => {
      smtp.stdin.end()
      smtp.kill('SIGTERM')
    })
    const smtpAddr = await new Promise((res, rej) => {
      let out = ''
      smtp.stdout.on('data', (b) => {
        out += b
        const m = out.match(/listening (\S+)/)
        if (m) res(m[1])
      })
      smtp.on('exit', (code) => rej(new Error(`smtpd exited ${code}`)))
    })

    const port = await freePort()
    const base = `http://127.0.0.1:${port}`
    const adminToken = randomBytes(24).toString('hex')
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME ?? tmp,
      DATABASE_URL: dbURL,
      REDIS_URL: redisURL,
      REDIS_PREFIX: `streamflix-e2e-${id}:`,
      HTTP_ADDR: `127.0.0.1:${port}`,
      PUBLIC_URL: base,
      ADMIN_TOKEN: adminToken,
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: smtpAddr.split(':').pop(),
      SMTP_TLS: 'none',
      MAIL_FROM: 'streamflix <no-reply@streamflix.test>',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'warn',
      DRAIN_DELAY: '0s',
      SHUTDOWN_GRACE: '5s',
      // One browser is many users here; rate limits have their own Go tests.
      RATE_LIMIT_IP: '1000/s:2000',
      RATE_LIMIT_USER: '1000/s:2000',
    }
    log('migrate')
    await run(bin, ['migrate', 'up'], { env, maxBuffer: 1 << 24 })
    const server = spawn(bin, ['serve'], { env, stdio: ['ignore', 'ignore', 'pipe'] })
    let serverErr = ''
    server.stderr.on('data', (b) => {
      serverErr = (serverErr + b).slice(-20000)
    })
    cleanups.push(
      () =>
        new Promise((res) => {
          if (server.exitCode !== null) return res()
          server.on('exit', res)
          server.kill('SIGTERM')
          setTimeout(() => server.kill('SIGKILL'), 8000).unref()
        }),
    )
    const ready = Date.now() + 30000
    for (;;) {
      if (server.exitCode !== null) throw new Error(`streamflix exited ${server.exitCode}: ${serverErr}`)
      try {
        if ((await fetch(base + '/readyz')).ok) break
      } catch {
        // not listening yet
      }
      if (Date.now() > ready) throw new Error('streamflix not ready in 30s: ' + serverErr)
      await sleep(100)
    }
    log(`streamflix on ${base}, SMTP on ${smtpAddr}`)

    h.base = base
    h.admin = (method, path, body) => call(base, adminToken, method, path, body)

    const browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS })
    cleanups.push(() => browser.close())
    h.browser = browser
    h.newContext = async (opts = {}) => {
      const ctx = await browser.newContext({ baseURL: base, viewport: { width: 1440, height: 900 }, reducedMotion: 'reduce', ...opts })
      ctx.setDefaultTimeout(15000)
      return ctx
    }
    return h
  } catch (e) {
    await h.stop()
    throw e
  }
}

async function call(base, token, method, path, body) {
  const resp = await fetch(base + '/api/v1' + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  })
  const text = await resp.text()
  if (!resp.ok) throw new Error(`${method} ${path}: ${resp.status} ${text}`)
  return text ? JSON.parse(text) : undefined
}

// waitForMail waits for a message to address whose subject matches and
// returns it ({from, to, subject, text, html}).
export async function waitForMail(h, address, subject, timeoutMs = 20000) {
  const end = Date.now() + timeoutMs
  for (;;) {
    if (existsSync(h.mailDir)) {
      for (const f of readdirSync(h.mailDir).filter((f) => f.endsWith('.json')).sort()) {
        const m = JSON.parse(readFileSync(join(h.mailDir, f), 'utf8'))
        if (m.to.some((t) => t.toLowerCase() === address.toLowerCase()) && subject.test(m.subject)) return m
      }
    }
    if (Date.now() > end) throw new Error(`no email to ${address} with subject ${subject} in ${timeoutMs / 1000}s`)
    await sleep(100)
  }
}
