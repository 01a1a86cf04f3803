// Preloaded (`node --require tools/faults/fs-fault.cjs`) by the fault suite where the machine
// cannot mount a small or read-only tmpfs: makes writes fail as a full or read-only disk would.
//
//   SUPCON_FS_FAULT=<CODE>:<path part>   e.g. ENOSPC:/run/checkpoints/  or  EROFS:/run/
//
// Every write under a path containing <path part> (open for writing or appending, mkdir,
// rename, rm, truncate, writeFile, appendFile, of node:fs/promises and node:fs) fails with that
// code, as the kernel reports it. Reads are untouched. Only the suite sets the variable.
'use strict';
const fs = require('node:fs');
const fsp = require('node:fs/promises');
const { syncBuiltinESMExports } = require('node:module');

const spec = process.env.SUPCON_FS_FAULT;
if (spec) {
  const colon = spec.indexOf(':');
  const code = spec.slice(0, colon);
  const part = spec.slice(colon + 1);
  const messages = { ENOSPC: 'no space left on device', EROFS: 'read-only file system' };
  const hits = (p) => String(p instanceof URL ? p.pathname : p).includes(part);
  const fail = (syscall, p) => Object.assign(new Error(`${code}: ${messages[code] ?? code}, ${syscall} '${p}'`), { code, errno: code === 'ENOSPC' ? -28 : -30, syscall, path: String(p) });
  // open(path[, flags]): a flag string other than r/rs, or numeric flags other than O_RDONLY.
  const writes = (flags) => (typeof flags === 'string' && !/^r[s]?$/.test(flags)) || (typeof flags === 'number' && flags !== 0);
  const guard = (object, name, syscall, isWrite = () => true) => {
    const original = object[name];
    object[name] = function (p, ...rest) {
      if (hits(p) && isWrite(...rest)) {
        const error = fail(syscall, p);
        if (object === fsp) return Promise.reject(error);
        const callback = rest[rest.length - 1];
        if (typeof callback === 'function' && !name.endsWith('Sync')) return void process.nextTick(callback, error);
        throw error;
      }
      return original.call(this, p, ...rest);
    };
  };
  for (const [object, suffix] of [[fsp, ''], [fs, ''], [fs, 'Sync']]) {
    if (object === fsp && suffix) continue;
    guard(object, `open${suffix}`, 'open', (flags) => writes(typeof flags === 'object' && flags !== null ? flags.flag : flags));
    for (const name of ['mkdir', 'rename', 'rm', 'rmdir', 'unlink', 'truncate', 'writeFile', 'appendFile']) guard(object, `${name}${suffix}`, name);
  }
  syncBuiltinESMExports();
}
