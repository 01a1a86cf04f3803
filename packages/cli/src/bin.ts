#!/usr/bin/env node
import { main } from './main';

// `supcon train ... | head -1`: once the reader has gone, writes fail with EPIPE. Exit quietly,
// as a command killed by SIGPIPE would (the run folder keeps its last checkpoint for --resume),
// instead of an uncaught 'error' event with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
