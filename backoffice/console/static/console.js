// The staff console's only script. Pages work without it (plain forms, full reloads);
// with it, boards update live from server-sent events and small forms post in place.
(() => {
  "use strict";
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";
  const signIn = () => {
    const back = location.pathname + location.search;
    location.href = (location.pathname.startsWith("/lobby") ? "/lobby/sign-in" : "/staff/login?next=" + encodeURIComponent(back));
  };

  function announce(text) {
    let region = document.getElementById("announce");
    if (!region) {
      region = document.createElement("p");
      region.id = "announce";
      region.className = "error";
      region.setAttribute("role", "alert");
      document.querySelector("main")?.prepend(region);
    }
    region.textContent = text;
  }

  document.addEventListener("change", (event) => {
    if (event.target.matches("[data-submit-on-change]")) event.target.form.submit();
  });

  // --- a live region of the page: re-fetched when the server says something changed --------
  const live = document.querySelector("[data-board]");
  let refresh = async () => location.reload();

  if (live) {
    const status = document.getElementById("live-status");
    const setStatus = (state, text) => {
      if (!status) return;
      status.dataset.state = state;
      status.textContent = text;
    };
    let pending = null;
    let inFlight = false;
    let again = false;

    refresh = async () => {
      if (inFlight) { again = true; return; }
      inFlight = true;
      try {
        const response = await fetch(live.dataset.board, {
          headers: { "X-Requested-With": "fetch" }, credentials: "same-origin", cache: "no-store",
        });
        if (response.status === 401) return signIn();
        if (!response.ok) return;
        const focused = document.activeElement?.id;
        live.innerHTML = await response.text();
        if (focused) document.getElementById(focused)?.focus();
        tick();
      } catch (_) {
        // The server is away; the event stream will say when it is back.
      } finally {
        inFlight = false;
        if (again) { again = false; refresh(); }
      }
    };
    const soon = () => { clearTimeout(pending); pending = setTimeout(refresh, 50); };

    let source = null;
    const connect = () => {
      source = new EventSource(live.dataset.events, { withCredentials: true });
      source.addEventListener("changed", soon);
      source.addEventListener("open", () => setStatus("live", "Live"));
      source.addEventListener("error", () => {
        setStatus("away", "Reconnecting…");
        if (source.readyState === EventSource.CLOSED) {
          // Refused (signed out, or a proxy error): check the sign-in, then try again.
          source.close();
          setTimeout(async () => { await refresh(); connect(); }, 3000);
        }
      });
    };
    connect();

    // Waits count up between events; colours follow the same bands as the server's.
    const bands = (minutes) => (minutes >= 30 ? "long" : minutes >= 15 ? "rising" : "calm");
    const tick = () => {
      for (const cell of live.querySelectorAll("[data-since]")) {
        const minutes = Math.max(0, Math.floor((Date.now() - Date.parse(cell.dataset.since)) / 60000));
        cell.textContent = `${minutes} min`;
        const row = cell.closest("tr");
        if (row) row.className = `band-${bands(minutes)}`;
      }
    };
    setInterval(tick, 15000);
    const every = Number(live.dataset.refreshEvery || 0);
    if (every > 0) setInterval(refresh, every * 1000);
  }

  // --- small forms post in place, then the live region refreshes ---------------------------
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.matches("form[data-inline]")) return;
    event.preventDefault();
    const button = form.querySelector("button[type=submit], button:not([type])");
    if (button) button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { "X-Requested-With": "fetch", "X-CSRF-Token": csrf() },
        credentials: "same-origin",
      });
      if (response.status === 401) return signIn();
      if (!response.ok) announce((await response.text()) || "That did not work; try again.");
      await refresh();
    } catch (_) {
      announce("The back office did not answer; nothing was changed. Try again.");
    } finally {
      if (button) button.disabled = false;
    }
  });
})();
