// #/instructor/workshops/<id>: the live dashboard. The server pushes a snapshot on every change
// over the dashboard socket; the page draws attendees × steps as colour cells, stuck attendees
// first and flagged, and ticks "time on step" locally. Clicking a row opens the attendee's
// terminals read-only with their last check results, and a reset.
import type { AttendeeRow, DashboardSnapshot } from '../../../common/workshop.ts';
import { isStuck } from '../../../common/workshop.ts';
import { ApiError, endWorkshop, extendWorkshop, fetchLab, moveWorkshop, resetAttendee, resetAttendeeStep, workshopSnapshot } from '../api.ts';
import { h } from '../dom.ts';
import type { Page } from '../page.ts';
import { duration } from '../pages/format.ts';
import { LabSocket, socketUrl } from '../ws-client.ts';
import { orderAttendees } from './attendee-order.ts';
import { faultLabel, faultStateText, fireSummary } from '../faults/fault-text.ts';
import '../faults/faults.css';
import { logoutButton } from './logout-button.ts';
import { MirrorPanel } from './mirror-panel.ts';
import { roomGlance } from './room-glance.ts';
import { roomHeat } from '../../../common/room-heat.ts';
import type { StepHeat } from '../../../common/room-heat.ts';
import { attendeeCatchUp } from './catch-up-controls.ts';
import { bootAheadControls } from './boot-ahead-controls.ts';
import type { OfferedPreview } from '../previews/preview-open.ts';
import { offeredPreviews, openPreviewTab } from '../previews/preview-open.ts';
import '../previews/previews.css';
import { instructorHref } from './workshop-routes.ts';
import { MAX_HELP_MESSAGE, helpTextProblem } from '../../../common/help.ts';
import { helpTime, waitingFor } from '../help/help-text.ts';
import '../help/help.css';
import './dashboard.css';

const CELL_TEXT = { done: 'done', skipped: 'skipped', current: 'current step', open: 'open (soft gate)', locked: 'locked' } as const;

export function dashboardPage(workshopId: string): Page {
  const root = h('main', { class: 'dashboard' });
  let socket: LabSocket | undefined;
  let snap: DashboardSnapshot | undefined;
  let clockSkew = 0;
  let selected: string | undefined;
  /** The dashboard's Reset step note per attendee id (what the last press is doing or ended with). */
  const stepNotes = new Map<string, { text: string; running: boolean }>();
  let mirror: MirrorPanel | undefined;
  let mirrorFor: string | undefined;

  const title = h('h1', {}, 'Workshop');
  const facts = h('div', { class: 'dash-facts' });
  const joinLink = h('input', { class: 'join-link', readonly: true, 'aria-label': 'Join link' });
  const copy = h('button', { type: 'button' }, 'Copy');
  const extend = h('button', { type: 'button' }, '+15 min');
  const end = h('button', { type: 'button', class: 'danger' }, 'End workshop');
  const status = h('span', { class: 'dash-conn muted' });
  const message = h('p', { class: 'form-message', role: 'status' });
  const say = (text: string, ok: boolean): void => {
    message.className = `form-message ${ok ? 'ok-text' : 'error-text'}`;
    message.textContent = text;
  };
  const glance = roomGlance(workshopId, say);
  const bootAhead = bootAheadControls(workshopId, say);
  // The lab file changed since this workshop started: it keeps its version until moved.
  const labNoticeText = h('span', {});
  const move = h('button', { type: 'button' }, 'Move to the new version');
  const labNotice = h('div', { class: 'banner lab-changed', role: 'region', 'aria-label': 'Lab version', hidden: true }, labNoticeText, ' ', move);
  const summary = h('div', { class: 'dash-summary' });
  // Faults on demand: shown only for a lab that declares faults.
  const faultSelect = h('select', { 'aria-label': 'Fault to fire' });
  const fireAll = h('button', { type: 'button', class: 'danger' }, 'Fire for everyone');
  const faultBar = h('div', { class: 'dash-faults', hidden: true }, h('b', {}, 'Faults'), faultSelect, fireAll);
  // The help loop: a message to the whole room, and the raised hands (longest waiting first).
  const broadcastText = h('input', { type: 'text', maxlength: String(MAX_HELP_MESSAGE), 'aria-label': 'Message to everyone', placeholder: 'A message to every attendee' });
  const broadcast = h('button', { type: 'submit' }, 'Message everyone');
  const broadcastForm = h('form', { class: 'help-form broadcast-form' }, broadcastText, broadcast);
  const hands = h('ul', { class: 'hands' });
  const handsBox = h('section', { class: 'hands-box', 'aria-label': 'Raised hands', hidden: true }, h('h2', {}, 'Raised hands'), hands);
  /** Answer fields by attendee, kept across redraws so that what the instructor is typing survives a snapshot. */
  const answerFields = new Map<string, HTMLInputElement>();
  const detailMessage = new Map<string, HTMLInputElement>();
  const grid = h('div', { class: 'grid', role: 'table', 'aria-label': 'Attendees by step' });
  const detail = h('aside', { class: 'detail' }, h('p', { class: 'muted' }, 'Click an attendee to watch their terminals.'));
  root.append(
    h('div', { class: 'dash-head' }, h('div', {}, h('a', { href: instructorHref, class: 'muted' }, '← Workshops'), title, facts), h('div', { class: 'dash-actions' }, status, extend, end, logoutButton(
          () => {
            location.hash = instructorHref;
          },
          (text) => fail(new ApiError(0, 'logout', text)),
        ))),
    h('div', { class: 'join-row' }, h('span', { class: 'muted' }, 'Join link'), joinLink, copy, broadcastForm),
    message,
    bootAhead.el,
    labNotice,
    summary,
    glance.el,
    faultBar,
    handsBox,
    h('div', { class: 'dash-body' }, grid, detail),
  );

  const now = (): number => Date.now() + clockSkew;
  const fail = (e: unknown): void => {
    message.className = 'form-message error-text';
    message.textContent = e instanceof ApiError ? e.message : 'Could not reach the server.';
  };

  function fire(fault: string, attendee?: string): void {
    if (!socket?.send({ type: 'fault-fire', workshopId, fault, ...(attendee !== undefined ? { attendee } : {}) })) {
      say('Not connected to the server; try again in a moment.', false);
      return;
    }
    say(`Firing "${snap?.faults?.find((f) => f.name === fault)?.title ?? fault}"…`, true);
  }
  /** Sends a help-loop message; false (and says so) when the socket is not connected. */
  const sendHelp = (m: Parameters<LabSocket['send']>[0]): boolean => {
    if (socket?.send(m)) return true;
    say('Not connected to the server; try again in a moment.', false);
    return false;
  };
  broadcastForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = broadcastText.value.trim();
    if (!text) return;
    // The server refuses it too; saying why here keeps what was typed.
    const problem = helpTextProblem(text, MAX_HELP_MESSAGE);
    if (problem) return say(`Not sent: ${problem}`, false);
    if (sendHelp({ type: 'help-broadcast', workshopId, text })) {
      broadcastText.value = '';
      say(`Sent to everyone: “${text}”`, true);
    }
  });
  /** An input with a button that sends its text to one attendee as an answer (it lowers their hand). */
  function answerForm(fields: Map<string, HTMLInputElement>, r: AttendeeRow, label: string, button: string): HTMLElement {
    let input = fields.get(r.id);
    if (!input) {
      input = h('input', { type: 'text', maxlength: String(MAX_HELP_MESSAGE), 'aria-label': label, placeholder: label });
      fields.set(r.id, input);
    }
    const field = input;
    const form = h('form', { class: 'help-form' }, field, h('button', { type: 'submit' }, button));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const text = field.value.trim();
      if (!text) return;
      const problem = helpTextProblem(text, MAX_HELP_MESSAGE);
      if (problem) return say(`Not sent: ${problem}`, false);
      if (sendHelp({ type: 'help-answer', workshopId, attendee: r.id, text })) {
        field.value = '';
        say(`Sent to ${r.name}: “${text}”`, true);
      }
    });
    return form;
  }

  function renderHands(s: DashboardSnapshot): void {
    const focused = document.activeElement;
    const up = s.attendees.filter((r) => r.hand !== undefined).sort((a, b) => (a.hand?.raisedAt ?? 0) - (b.hand?.raisedAt ?? 0));
    handsBox.hidden = up.length === 0;
    for (const id of answerFields.keys()) if (!up.some((r) => r.id === id)) answerFields.delete(id);
    hands.replaceChildren(
      ...up.map((r) => {
        const report = r.lastReport;
        const watch = h('button', { type: 'button' }, 'Watch');
        watch.addEventListener('click', () => select(r.id));
        const resolve = h('button', { type: 'button', 'aria-label': `Resolve ${r.name}’s hand` }, 'Resolve');
        resolve.addEventListener('click', () => void sendHelp({ type: 'hand-resolve', workshopId, attendee: r.id }));
        return h(
          'li',
          { class: 'hand-item', 'data-attendee': r.id, 'data-name': r.name },
          h(
            'div',
            { class: 'hand-who' },
            h('b', {}, r.name),
            h('span', { class: 'hand-step' }, r.current >= s.steps.length ? 'finished' : `Step ${r.current + 1}: ${s.steps[r.current] ?? ''}`),
            h('span', { class: `hand-check ${report ? (report.passed ? 'ok-text' : 'error-text') : 'muted'}` }, report ? `Last check (step ${report.step + 1}): ${report.passed ? 'passed' : `not yet, ${report.results.filter((x) => x.status !== 'pass').length} failing`}` : 'No check run yet'),
            h('span', { class: 'muted' }, `raised ${helpTime(r.hand?.raisedAt ?? 0)} · waiting ${waitingFor(now() - (r.hand?.raisedAt ?? 0))}`),
          ),
          r.hand?.text ? h('div', { class: 'hand-words' }, `“${r.hand.text}”`) : null,
          h('div', { class: 'help-form' }, answerForm(answerFields, r, `Answer to ${r.name}`, 'Answer'), resolve, watch),
        );
      }),
    );
    // Redrawing moved the field being typed in: give it its focus back.
    if (focused instanceof HTMLInputElement && focused !== document.activeElement && focused.isConnected) focused.focus();
  }

  /** The attendee's side of the help loop in the detail panel: a message, and take the keyboard. */
  function helpPanel(r: AttendeeRow, over: boolean): HTMLElement {
    const controls = h('div', { class: 'keyboard-controls' });
    const kb = r.keyboard;
    if (kb === 'granted') {
      const back = h('button', { type: 'button', class: 'danger' }, 'Give back the keyboard');
      back.addEventListener('click', () => void sendHelp({ type: 'keyboard-release', workshopId, attendee: r.id }));
      controls.append(h('b', { class: 'error-text' }, `You have ${r.name}’s keyboard: what you type in the terminal below runs in their terminal.`), back);
    } else if (kb === 'requested') {
      const cancel = h('button', { type: 'button' }, 'Cancel request');
      cancel.addEventListener('click', () => void sendHelp({ type: 'keyboard-release', workshopId, attendee: r.id }));
      controls.append(h('span', { class: 'muted', role: 'status' }, `Waiting for ${r.name} to allow…`), cancel);
    } else {
      const take = h('button', { type: 'button' }, 'Take the keyboard');
      take.disabled = over || !r.connected;
      take.title = r.connected ? `Ask ${r.name} to let you type in their terminal` : `${r.name} has no lab page open`;
      take.addEventListener('click', () => {
        if (sendHelp({ type: 'keyboard-request', workshopId, attendee: r.id })) say(`Asked ${r.name} for their keyboard.`, true);
      });
      controls.append(take);
      if (kb === 'denied') controls.append(h('span', { class: 'muted', role: 'status' }, `${r.name} said no.`));
    }
    return h('div', { class: 'detail-help' }, answerForm(detailMessage, r, `Message to ${r.name}`, 'Send'), controls);
  }

  fireAll.addEventListener('click', () => {
    const f = snap?.faults?.find((x) => x.name === faultSelect.value);
    if (!f || !confirm(`Fire "${f.title}" on ${f.host} for every attendee who has finished step ${f.step + 1}?`)) return;
    fire(f.name);
  });

  copy.addEventListener('click', () => {
    joinLink.select();
    void navigator.clipboard?.writeText(joinLink.value).catch(() => undefined);
  });
  extend.addEventListener('click', () => void extendWorkshop(workshopId, 15).catch(fail));
  move.addEventListener('click', () => {
    if (!confirm('Move every attendee to the new version of the lab? Their progress is kept step by step; new steps start not done.')) return;
    move.disabled = true;
    void moveWorkshop(workshopId)
      .then(() => {
        message.className = 'form-message';
        message.textContent = 'Moved to the new version of the lab.';
      })
      .catch(fail)
      .finally(() => {
        move.disabled = false;
      });
  });
  end.addEventListener('click', () => {
    if (!confirm('End the workshop? Every attendee’s lab hosts are destroyed.')) return;
    void endWorkshop(workshopId).catch(fail);
  });

  function renderHead(s: DashboardSnapshot): void {
    const w = s.workshop;
    title.textContent = w.labTitle;
    const over = w.endedAt !== undefined;
    const left = w.expiresAt - now();
    facts.replaceChildren(
      h('span', { class: 'fact' }, `${w.attendeeCount} / ${w.capacity} seats`),
      h('span', { class: `fact${over ? ' over' : left < 10 * 60_000 ? ' warn' : ''}` }, over ? (w.endReason === 'expired' ? 'expired' : 'ended') : `${duration(left)} left`),
    );
    joinLink.value = new URL(w.joinPath, document.baseURI).toString();
    extend.disabled = over;
    end.disabled = over;
    const changed = over ? undefined : s.labChanged;
    labNotice.hidden = changed === undefined;
    move.hidden = changed?.movable !== true;
    labNoticeText.textContent = changed === undefined ? '' : changed.movable ? 'Lab changed since this workshop started. Attendees keep the version they started with.' : `Lab changed since this workshop started, but it cannot move: ${changed.reason}.`;
    const faults = s.faults ?? [];
    faultBar.hidden = faults.length === 0;
    // By name, not count: a workshop moved to a new lab version may offer other faults.
    if ([...faultSelect.options].map((o) => o.value).join(' ') !== faults.map((f) => f.name).join(' ')) {
      faultSelect.replaceChildren(...faults.map((f) => h('option', { value: f.name }, faultLabel(f))));
    }
    fireAll.disabled = over;
    bootAhead.render(s);
  }

  function renderSummary(s: DashboardSnapshot, t: number): void {
    const rows = s.attendees;
    const stuck = rows.filter((r) => isStuck(r, s.steps.length, t, s.stuck)).length;
    const finished = rows.filter((r) => r.current >= s.steps.length).length;
    const online = rows.filter((r) => r.connected).length;
    summary.replaceChildren(
      h('span', {}, h('b', {}, String(rows.length)), ' attendees'),
      h('span', {}, h('b', {}, String(online)), ' online'),
      h('span', { class: stuck ? 'sum-stuck' : '' }, h('b', {}, String(stuck)), ' stuck'),
      h('span', {}, h('b', {}, String(finished)), ' finished'),
    );
  }

  function renderGrid(s: DashboardSnapshot, t: number, heat: readonly StepHeat[]): void {
    grid.style.setProperty('--steps', String(s.steps.length));
    const onStep = heat.map((x) => x.here);
    const most = Math.max(1, ...onStep);
    const head = h(
      'div',
      { class: 'grid-row grid-head', role: 'row' },
      h('span', { class: 'g-name', role: 'columnheader' }, 'Attendee'),
      h(
        'span',
        { class: 'g-cells', role: 'columnheader' },
        ...s.steps.map((title, i) => {
          const bar = h('i', { class: 'g-bar' });
          bar.style.height = `${Math.round((onStep[i]! / most) * 100)}%`;
          return h('span', { class: 'g-step', title: `${i + 1}. ${title} — ${onStep[i]} here now` }, bar, h('em', {}, String(i + 1)));
        }),
      ),
      h('span', { class: 'g-time', role: 'columnheader' }, 'On step'),
      h('span', { class: 'g-fail', role: 'columnheader' }, 'Failed'),
    );
    const rows = orderAttendees(s.attendees, s, t).map((r) => {
      const stuck = isStuck(r, s.steps.length, t, s.stuck);
      const finished = r.current >= s.steps.length;
      const row = h(
        'div',
        {
          class: `grid-row attendee${stuck ? ' stuck' : ''}${finished ? ' finished' : ''}${r.id === selected ? ' selected' : ''}${r.connected ? '' : ' offline'}`,
          role: 'row',
          tabindex: '0',
          'data-attendee': r.id,
          'data-name': r.name,
        },
        h('span', { class: 'g-name' }, h('i', { class: 'presence', title: r.connected ? 'online' : 'offline' }), h('span', { class: 'g-label' }, r.name), stuck ? h('b', { class: 'stuck-badge' }, 'STUCK') : null, r.env === 'provisioning' ? h('span', { class: 'env-note' }, 'hosts…') : r.env === 'failed' ? h('span', { class: 'env-note bad' }, 'hosts failed') : null, r.setup?.state === 'failed' ? h('span', { class: 'env-note bad setup-note', title: `step ${r.setup.step + 1} could not be prepared` }, 'setup failed') : r.setup?.state === 'running' ? h('span', { class: 'env-note setup-note' }, 'preparing…') : null, faultBadge(r.faults), r.hand ? h('b', { class: 'hand-badge', title: r.hand.text ?? 'hand raised' }, '✋ hand raised') : null),
        h('span', { class: 'g-cells' }, ...r.cells.map((c, i) => {
          const replayed = r.replayed?.includes(i) === true;
          return h('span', { class: `cell ${c}${replayed ? ' replayed' : ''}`, 'data-step': String(i), title: `${i + 1}. ${s.steps[i]}: ${replayed ? 'replayed by catch-up' : CELL_TEXT[c]}` });
        })),
        h('span', { class: 'g-time', 'data-since': String(r.currentSince) }, finished ? 'done' : duration(t - r.currentSince)),
        h('span', { class: `g-fail${r.failedOnCurrent >= s.stuck.afterFailures ? ' many' : ''}`, title: `${r.failedOnCurrent} failed on this step, ${r.failedTotal} in all` }, String(r.failedOnCurrent || '')),
      );
      row.addEventListener('click', () => select(r.id));
      row.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter') select(r.id);
      });
      return row;
    });
    grid.replaceChildren(head, ...(rows.length ? rows : [h('p', { class: 'muted empty' }, 'Nobody has joined yet. Share the join link.')]));
  }

  function faultBadge(faults: AttendeeRow['faults']): HTMLElement | null {
    if (!faults?.length) return null;
    const broken = faults.some((f) => f.state === 'broken' || f.state === 'firing');
    if (!broken && !faults.some((f) => f.state === 'repaired')) return null;
    return h('span', { class: `fault-badge ${broken ? 'broken' : 'repaired'}` }, broken ? 'still broken' : 'repaired');
  }

  /** The attendee's faults: each lab fault with where it stands for them and a Fire button. */
  function faultsPanel(s: DashboardSnapshot, r: AttendeeRow): HTMLElement | null {
    const faults = s.faults ?? [];
    if (faults.length === 0) return null;
    const over = s.workshop.endedAt !== undefined;
    return h(
      'div',
      { class: 'detail-faults' },
      h('h3', {}, 'Faults'),
      h(
        'ul',
        {},
        ...faults.map((f) => {
          const fired = r.faults?.find((x) => x.name === f.name);
          const button = h('button', { type: 'button', class: 'danger', 'aria-label': `Fire "${f.title}" for ${r.name}` }, 'Fire');
          // The server refuses a fault whose step the attendee has not finished (its checks would show the repair): say so before the click.
          const finished = r.cells[f.step] === 'done' || r.cells[f.step] === 'skipped';
          button.disabled = over || !finished || fired?.state === 'broken' || fired?.state === 'firing';
          button.addEventListener('click', () => fire(f.name, r.id));
          const state = fired ? faultStateText(fired) : finished ? 'not fired' : `not fired · can be fired once step ${f.step + 1} is done`;
          return h('li', { 'data-fault': f.name, 'data-state': fired?.state ?? 'none' }, h('span', {}, faultLabel(f)), h('span', { class: 'muted' }, state), button);
        }),
      ),
    );
  }

  function renderDetail(s: DashboardSnapshot): void {
    const r = s.attendees.find((a) => a.id === selected);
    if (!r || !socket) return;
    const report = r.lastReport;
    const results = report
      ? h(
          'div',
          { class: 'last-report' },
          h('p', { class: report.passed ? 'ok-text' : 'error-text' }, `Step ${report.step + 1}: ${report.passed ? 'passed' : 'not yet'} · ${new Date(report.at).toLocaleTimeString()}`),
          // A described check shows its description (the lab's words), never its raw command or regex.
          h('ul', {}, ...report.results.map((x) => h('li', { class: `res ${x.status}` }, x.description === undefined ? x.message : `${x.description} — ${x.message}`))),
        )
      : h('p', { class: 'muted' }, 'No check results yet.');
    const reset = h('button', { type: 'button', class: 'danger' }, 'Reset hosts');
    reset.addEventListener('click', () => {
      if (!confirm(`Give ${r.name} fresh hosts? Their progress starts over.`)) return;
      void resetAttendee(workshopId, r.id).catch(fail);
    });
    // "Reset step": back to the snapshot of the attendee's open step; where there is none, the full reset is offered.
    // Its note lives in stepNotes (the detail is redrawn at every snapshot, and a reset outlasts many).
    const note = stepNotes.get(r.id);
    const stepNote = h('span', { class: 'muted', role: 'status' }, note?.text ?? '');
    const resetStep = h('button', { type: 'button' }, 'Reset step');
    resetStep.disabled = note?.running === true;
    resetStep.addEventListener('click', () => {
      if (!confirm(`Put ${r.name}'s hosts back to how they were when their current step opened? What they changed since is lost; finished steps stay done.`)) return;
      const say = (text: string, running = false): void => {
        stepNotes.set(r.id, { text, running });
        if (snap) render(snap);
      };
      say(`Resetting ${r.name}'s step…`, true);
      void resetAttendeeStep(workshopId, r.id)
        .then((out) => {
          say(out.state === 'done' ? `${r.name}'s step was reset.` : `Step not reset: ${out.message}.`);
          if (out.state === 'unavailable' && (out.code === 'no-snapshot' || out.code === 'unsupported')) {
            if (confirm(`${r.name}'s step cannot be reset (${out.message}). Give them fresh hosts instead? Their progress starts over from the first step.`)) void resetAttendee(workshopId, r.id).catch(fail);
          }
        })
        .catch((e: unknown) => {
          say('');
          fail(e);
        });
    });
    const previewNote = h('span', { class: 'muted', role: 'status' });
    const previewButtons = previews.map((p) => {
      const b = h('button', { type: 'button', class: 'preview-button' }, `Open preview: ${p.host}:${p.port}`);
      b.addEventListener('click', () => void openPreviewTab(labId, p.host, p.port, r.id).then((problem) => (previewNote.textContent = problem ?? '')));
      return b;
    });
    const info = h(
      'div',
      { class: 'detail-head' },
      h('h2', {}, r.name),
      previewButtons.length > 0 ? h('div', { class: 'attendee-previews', role: 'group', 'aria-label': `${r.name}’s previews` }, ...previewButtons, previewNote) : null,
      h('p', { class: 'muted' }, r.current >= s.steps.length ? 'Finished every step' : `On step ${r.current + 1}: ${s.steps[r.current]}`, ` · ${r.failedTotal} failed checks`),
      r.setup?.state === 'failed'
        ? h('p', { class: 'error-text setup-detail', role: 'alert' }, `Step ${r.setup.step + 1} could not be prepared: ${r.setup.host ? `${r.setup.host}: ` : ''}${r.setup.reason ?? 'no reason given'}`)
        : r.setup?.state === 'running'
          ? h('p', { class: 'muted setup-detail' }, `Preparing step ${r.setup.step + 1}…`)
          : null,
      results,
      helpPanel(r, s.workshop.endedAt !== undefined),
      faultsPanel(s, r),
      attendeeCatchUp(workshopId, s, r, say),
      resetStep,
      reset,
      stepNote,
    );
    if (mirrorFor !== r.id || !mirror) {
      mirror?.dispose();
      detail.replaceChildren(info);
      mirror = new MirrorPanel(socket, r.id, hosts, detail, r.name);
      mirrorFor = r.id;
      mirror.fit();
    } else {
      // Only the text changes; the terminals stay where they are (moving xterm loses its size).
      detail.firstElementChild?.replaceWith(info);
    }
    mirror.setKeyboard(r.keyboard === 'granted');
  }

  let hosts: string[] = [];
  let previews: OfferedPreview[] = [];
  let labId = '';

  function select(id: string): void {
    selected = id;
    if (snap) render(snap);
  }

  function render(s: DashboardSnapshot): void {
    const t = now();
    renderHead(s);
    renderSummary(s, t);
    renderHands(s);
    const heat = roomHeat(s);
    glance.render(s, heat);
    renderGrid(s, t, heat);
    const focused = document.activeElement;
    renderDetail(s);
    // The detail's message field is moved by the redraw: give it its focus back.
    if (focused instanceof HTMLInputElement && focused !== document.activeElement && focused.isConnected) focused.focus();
  }

  // Time on step and the countdown move every second without asking the server.
  const tick = setInterval(() => {
    if (!snap) return;
    const t = now();
    for (const el of grid.querySelectorAll<HTMLElement>('.g-time[data-since]')) {
      if (el.textContent !== 'done') el.textContent = duration(t - Number(el.dataset.since));
    }
    renderHead(snap);
  }, 1000);
  // Stuck-by-time changes the order and flags; redraw now and then (no server round trip).
  const reorder = setInterval(() => {
    if (snap) render(snap);
  }, 15_000);

  workshopSnapshot(workshopId).then(
    async (first) => {
      snap = first;
      clockSkew = first.now - Date.now();
      const lab = await fetchLab(first.workshop.labId);
      hosts = lab.meta.hosts;
      previews = offeredPreviews(lab);
      labId = lab.id;
      render(first);
      socket = new LabSocket({ labId: first.workshop.labId, url: socketUrl(undefined, 'dashboard-ws') });
      const sock = socket;
      sock.on('welcome', () => sock.send({ type: 'dashboard-watch', workshopId }));
      sock.on('fault-fired', (m) => {
        const title = snap?.faults?.find((f) => f.name === m.fault)?.title ?? m.fault;
        say(fireSummary(title, m.outcomes), m.outcomes.some((o) => o.ok));
      });
      sock.on('error', (m) => {
        if (m.ref === 'fault-fire') say(`Could not fire the fault: ${m.message}`, false);
        if (m.ref === 'help-answer' || m.ref === 'help-broadcast' || m.ref === 'hand-resolve') say(`Not sent: ${m.message}`, false);
        if (m.ref === 'keyboard-request' || m.ref === 'keyboard-release') say(`Keyboard: ${m.message}`, false);
        if (m.ref === 'term-input' && m.code === 'read-only') say(`Not typed: ${m.message}`, false);
      });
      sock.on('dashboard', (m) => {
        snap = m.snapshot;
        clockSkew = m.snapshot.now - Date.now();
        root.dataset.live = 'true';
        render(m.snapshot);
      });
      sock.onStatus((st) => {
        status.textContent = st.state === 'open' ? '● live' : st.state === 'reconnecting' ? 'reconnecting…' : st.state === 'closed' ? `disconnected${st.detail ? `: ${st.detail}` : ''}` : 'connecting…';
        status.dataset.state = st.state;
      });
    },
    (e: unknown) => {
      if (e instanceof ApiError && e.status === 401) location.hash = instructorHref;
      else fail(e);
    },
  );

  return {
    root,
    dispose() {
      clearInterval(tick);
      clearInterval(reorder);
      mirror?.dispose();
      socket?.close();
    },
  };
}
