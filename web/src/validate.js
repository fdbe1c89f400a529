// Checks a chosen video before it is uploaded, with the same limits the server applies
// (contract §4.1 and §5.1), so that a person learns about a problem before waiting for an upload.

export const ACCEPTED_TYPES = ['video/mp4', 'video/quicktime'];
export const MAX_VIDEO_BYTES = 104857600;
export const MIN_SECONDS = 2.0;
export const MAX_SECONDS = 10.0;
/** The longest `workName` (contract §5.1), counted in characters (code points) as the server does. */
export const MAX_NAME_CHARS = 100;

/** The upload Content-Type for a file: its own type, or one derived from the extension. */
export function uploadContentType(file) {
  const type = (file.type || '').toLowerCase();
  if (ACCEPTED_TYPES.includes(type)) return type;
  const name = (file.name || '').toLowerCase();
  if (!type || type === 'application/octet-stream') {
    if (name.endsWith('.mp4') || name.endsWith('.m4v')) return 'video/mp4';
    if (name.endsWith('.mov')) return 'video/quicktime';
  }
  return null;
}

/** Rounds a duration to 0.1 s, half up, as the server does (10.04 → 10.0, 10.05 → 10.1). */
export function roundDuration(seconds) {
  return Math.floor(seconds * 10 + 0.5 + 1e-9) / 10;
}

export function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** Type and size checks, which need no decoding. Returns a list of problems in plain words. */
export function checkFile(file) {
  const problems = [];
  if (!uploadContentType(file)) {
    problems.push(
      `"${file.name}" is not an MP4 or QuickTime (.mov) video${file.type ? ` (it is ${file.type})` : ''}.`,
    );
  }
  if (file.size === 0) problems.push('The file is empty.');
  if (file.size > MAX_VIDEO_BYTES) {
    problems.push(`The file is ${formatBytes(file.size)}; videos may be at most ${formatBytes(MAX_VIDEO_BYTES)}.`);
  }
  return problems;
}

/** Duration check on the metadata read by an HTML video element. */
export function checkDuration(seconds) {
  if (!Number.isFinite(seconds) || seconds <= 0) {
    return 'The length of this video could not be read.';
  }
  const rounded = roundDuration(seconds);
  if (rounded < MIN_SECONDS || rounded > MAX_SECONDS) {
    return `The video is ${rounded.toFixed(1)} s long; it must be between 2 and 10 seconds. Trim it and try again.`;
  }
  return null;
}

/**
 * The name proposed for a chosen file: its name without the extension, cut to
 * {@link MAX_NAME_CHARS} code points. A cut in UTF-16 units could split an emoji and leave half
 * of it, which is not valid text: the server then refuses the whole request body.
 */
export function nameFromFileName(fileName) {
  return Array.from(String(fileName).replace(/\.[^.]+$/, '')).slice(0, MAX_NAME_CHARS).join('');
}
