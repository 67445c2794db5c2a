// @ts-check
// Templates without a compiler: htm turns tagged template literals into
// Preact elements, so the sources are plain ES modules.
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);
