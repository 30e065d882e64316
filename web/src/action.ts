// Runs what a button or form starts: disables it meanwhile and shows any failure's message.

import { ApiError, NetworkError, messageOf } from './api';
import { showError } from './banners';
import { showFieldErrors } from './dom';

export interface ActOptions {
  /** Where the message goes (a form's status line); the page's error banner otherwise. */
  status?: HTMLElement;
  /** A form whose inputs get the 422's per-field messages. */
  form?: HTMLFormElement;
}

/** Resolves true when `run` succeeded. Network failures only raise the retry banner. */
export async function act(
  control: HTMLButtonElement | null,
  run: () => Promise<unknown>,
  options: ActOptions = {},
): Promise<boolean> {
  if (control) control.disabled = true;
  if (options.status) options.status.textContent = '';
  if (options.form) showFieldErrors(options.form);
  try {
    await run();
    return true;
  } catch (e) {
    if (options.form && e instanceof ApiError) showFieldErrors(options.form, e.fields);
    if (options.status) options.status.textContent = messageOf(e);
    else if (!(e instanceof NetworkError)) showError(messageOf(e));
    return false;
  } finally {
    if (control) control.disabled = false;
  }
}
