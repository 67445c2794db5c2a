// @ts-check
import { render } from 'preact';
import { html } from './lib/html.js';
import { App } from './app.js';
import './app.css';
import './admin.css';

const root = document.getElementById('app');
if (root) {
    render(html`<${App} />`, root);
}
