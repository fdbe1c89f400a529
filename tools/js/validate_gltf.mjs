// Validates one .glb with the Khronos glTF Validator and prints its report summary as JSON.
// Usage: node validate_gltf.mjs FILE.glb   (exit 0 when it ran; the caller checks numErrors)
import { readFile } from 'node:fs/promises';
import validator from 'gltf-validator';

const file = process.argv[2];
const bytes = new Uint8Array(await readFile(file));
const report = await validator.validateBytes(bytes, { maxIssues: 100 });
console.log(JSON.stringify({
  numErrors: report.issues.numErrors,
  numWarnings: report.issues.numWarnings,
  messages: report.issues.messages.filter((m) => m.severity <= 1),
}));
