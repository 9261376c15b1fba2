// The instructor's "Log out" button: ends the instructor session on the server (its cookie stops
// working at once, on every tab) and then shows the login form again.
import { ApiError, logout } from '../api.ts';
import { h } from '../dom.ts';

export function logoutButton(onLoggedOut: () => void, onError: (message: string) => void): HTMLButtonElement {
  const button = h('button', { type: 'button', class: 'logout-button' }, 'Log out');
  button.addEventListener('click', () => {
    button.disabled = true;
    logout().then(onLoggedOut, (e: unknown) => {
      button.disabled = false;
      onError(e instanceof ApiError ? e.message : 'Could not reach the server to log out; try again.');
    });
  });
  return button;
}
