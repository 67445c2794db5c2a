// @ts-check
// Reading a phase log as it grows, through its log-read-url: the stream is
// STX (0x02), the log, and ETX (0x03) once the phase has ended; `offset`
// counts the STX. Each read asks for what follows what was read.

export const STX = 0x02;
export const ETX = 0x03;

/**
 * @typedef {object} LogCursor
 * @property {number} offset bytes of the stream read so far (the STX included)
 * @property {boolean} done the ETX was read: nothing more will come
 * @property {TextDecoder} decoder keeps a character cut between two reads
 */

/** @returns {LogCursor} */
export function newCursor() {
    return { offset: 0, done: false, decoder: new TextDecoder() };
}

/**
 * The address of the next read.
 * @param {string} url the log-read-url
 * @param {LogCursor} c
 * @param {number} limit bytes at most
 * @returns {string}
 */
export function nextRead(url, c, limit) {
    return `${url}${url.includes('?') ? '&' : '?'}offset=${c.offset}&limit=${limit}`;
}

/**
 * Takes the bytes of one read: the text they add, and the cursor moved on.
 * @param {LogCursor} c
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function consume(c, bytes) {
    let from = 0;
    let to = bytes.length;
    if (c.offset === 0 && to > 0 && bytes[0] === STX) {
        from = 1;
    }
    if (to > from && bytes[to - 1] === ETX) {
        to--;
        c.done = true;
    }
    c.offset += bytes.length;
    return c.decoder.decode(bytes.subarray(from, to), { stream: !c.done });
}
