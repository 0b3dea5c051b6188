// Prints the text of the QR code in a PNG image (argument 1), decoded by jsQR: the browser test's independent check
// of what the console's QR code tells an authenticator app. Exits 1 when no QR code is found.
import { readFileSync } from "node:fs";
import { PNG } from "pngjs";
import jsQR from "jsqr";

const png = PNG.sync.read(readFileSync(process.argv[2]));
const code = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
if (!code) {
  console.error(`no QR code found in ${process.argv[2]} (${png.width}x${png.height})`);
  process.exit(1);
}
process.stdout.write(code.data);
