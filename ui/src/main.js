// @ts-check
import { render } from 'preact';
import { html } from './lib/html.js';
import { App } from './app.js';
import './app.css';

const root = document.getElementById('app');
if (root) {
    render(html`<${App} />`, root);
}
