// Foghorn's dashboard works without this file; with it, a workflow's
// preview follows the form as it is typed in (the same POST the Preview
// button sends, its answer's preview put in place of the old one).
"use strict";
(function () {
  const form = document.querySelector("form[data-live-preview]");
  if (!form || !window.fetch || !window.DOMParser) {
    return;
  }
  let timer = null;
  let sent = 0;
  async function refresh() {
    const mine = ++sent;
    const response = await fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin",
    });
    if (mine !== sent) {
      return; // a newer edit is on its way
    }
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const slot = document.getElementById("live-preview");
    const fresh = page.getElementById("live-preview");
    if (slot && fresh) {
      slot.replaceWith(fresh);
    }
  }
  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  });
})();
