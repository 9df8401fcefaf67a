import { render } from 'preact';
import { App } from './components/app/app.tsx';
import { SINGLE_FILE_MODE } from './pwa/hosting.ts';
import { registerServiceWorker } from './pwa/register-service-worker.ts';
import './styles.css';

const root = document.getElementById('app');
if (!root) throw new Error('index.html has no #app element');
render(<App />, root);

// Offline after the first visit, for the hosted build only: the dev server has no sw.js,
// and the single file has nothing to precache and runs where service workers cannot.
if (import.meta.env.PROD && import.meta.env.MODE !== SINGLE_FILE_MODE) registerServiceWorker();
