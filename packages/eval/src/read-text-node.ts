/** Reading a `corruption.baseline` location in Node: a file path (the Node entry only). */
import { readFile } from 'node:fs/promises';

/** The UTF-8 text of the file at `location`. */
export function readTextFile(location: string): Promise<string> {
  return readFile(location, 'utf8');
}
