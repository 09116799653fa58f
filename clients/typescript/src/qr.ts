// Reads a QR code PNG the way a phone camera would: with a real decoder (zbarimg, from Debian's
// zbar-tools). Only the cycle needs this; a mini-program gets the text from `wx.scanCode`.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function isPng(bytes: Uint8Array): boolean {
  return PNG_SIGNATURE.every((byte, i) => bytes[i] === byte);
}

/** The text of the one QR code in a PNG image. */
export function decodeQrPng(bytes: Uint8Array): string {
  if (!isPng(bytes)) {
    throw new Error(`not a PNG image (${bytes.length} bytes)`);
  }
  const dir = mkdtempSync(join(tmpdir(), "pb-qr-"));
  try {
    const file = join(dir, "code.png");
    writeFileSync(file, bytes);
    const run = spawnSync("zbarimg", ["--raw", "-q", file], { encoding: "utf8" });
    if (run.error !== undefined) {
      throw new Error(
        `cannot run zbarimg (${run.error.message}); install it with: apt-get install zbar-tools`,
      );
    }
    if (run.status !== 0) {
      throw new Error(`zbarimg found no QR code (exit ${run.status}): ${run.stderr.trim()}`);
    }
    const lines = run.stdout.split("\n").filter((line) => line.length > 0);
    const [text] = lines;
    if (lines.length !== 1 || text === undefined) {
      throw new Error(`expected one QR code, zbarimg read ${lines.length}`);
    }
    return text;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
