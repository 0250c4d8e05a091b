// devserver.js: the `minifn dev` the tests run against.
//
// With MINIFN_URL (and MINIFN_ADMIN_TOKEN) set, the tests use that running
// server, as CI does. Otherwise they build cmd/minifn and start
// `minifn dev` on a free loopback port with a fresh directory, and stop it
// when the tests end.
'use strict';

const { spawn, execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const repo = path.resolve(__dirname, '..', '..');

async function startDev() {
  if (process.env.MINIFN_URL) {
    if (!process.env.MINIFN_ADMIN_TOKEN) throw new Error('MINIFN_URL is set: set MINIFN_ADMIN_TOKEN too');
    return { url: process.env.MINIFN_URL.replace(/\/+$/, ''), adminToken: process.env.MINIFN_ADMIN_TOKEN, stop() {} };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minifn-kit-'));
  const bin = path.join(dir, 'minifn');
  execFileSync('go', ['build', '-o', bin, './cmd/minifn'], { cwd: repo, stdio: 'inherit' });
  const adminToken = crypto.randomBytes(24).toString('hex');
  const env = Object.assign({}, process.env, { MINIFN_ADMIN_TOKEN: adminToken, MINIFN_WALLET: 'on' });
  delete env.MINIFN_STORE;
  const child = spawn(bin, ['dev', '--addr', '127.0.0.1:0', '--dir', path.join(dir, 'state')],
    { cwd: dir, env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('minifn dev printed no address:\n' + out)), 60000);
    child.stdout.on('data', (b) => {
      out += b;
      const m = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => reject(new Error('minifn dev exited ' + code + ':\n' + out)));
  });
  child.stdout.resume();
  return {
    url,
    adminToken,
    // stop ends the server, then removes its directory once it has exited
    // (removing it while the server still writes fails with ENOTEMPTY).
    stop() {
      child.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
      child.kill('SIGTERM');
    },
  };
}

// admin calls the API with the admin token and returns {status, headers, body}.
async function admin(dev, method, p, body, headers) {
  const res = await fetch(dev.url + p, {
    method,
    headers: Object.assign({ Authorization: 'Bearer ' + dev.adminToken },
      body === undefined ? {} : { 'Content-Type': 'application/json' }, headers),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data = text;
  try { data = JSON.parse(text); } catch (e) { /* not JSON */ }
  return { status: res.status, headers: res.headers, body: data };
}

module.exports = { startDev, admin };
