/* Back office: the collapsible menu on narrow screens and keyboard access to tables that scroll.
 *
 * Loaded in <head> without defer, so the "bo-js" class is on <html> before the page is drawn: the navigation is
 * collapsed on a phone from the first paint, and stays open (above the content) when this script does not run. */
(function () {
  "use strict";
  document.documentElement.classList.add("bo-js");

  function setupMenu() {
    var button = document.querySelector(".bo-menu-button[aria-controls]");
    var nav = button && document.getElementById(button.getAttribute("aria-controls"));
    if (!nav) return;

    function setOpen(open) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
      nav.classList.toggle("bo-nav--open", open);
    }

    button.addEventListener("click", function () {
      setOpen(button.getAttribute("aria-expanded") !== "true");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape" || button.getAttribute("aria-expanded") !== "true") return;
      if (nav.contains(document.activeElement) || document.activeElement === button) {
        setOpen(false);
        button.focus();
      }
    });
  }

  /* A table wider than its card scrolls inside a region with tabindex="0", so that the keyboard can scroll it.
   * When it fits, the region is taken out of the tab order: one stop less on the way to the next link. */
  function updateRegion(region) {
    if (region.scrollWidth > region.clientWidth + 1) {
      region.setAttribute("tabindex", "0");
      region.classList.add("table-scroll--scrolls");
    } else {
      region.removeAttribute("tabindex");
      region.classList.remove("table-scroll--scrolls");
    }
  }

  function setupRegions(root) {
    var regions = root.querySelectorAll(".table-scroll[role='region']");
    if (!regions.length) return;
    if (!("ResizeObserver" in window)) return; /* then every region keeps its tabindex="0" */
    var observer = new ResizeObserver(function (entries) {
      entries.forEach(function (entry) {
        var region = entry.target.closest(".table-scroll");
        if (region) updateRegion(region);
      });
    });
    regions.forEach(function (region) {
      observer.observe(region);
      if (region.firstElementChild) observer.observe(region.firstElementChild);
    });
  }

  /* The e-mail preview's frame takes the height of the e-mail it shows (same origin: its document can be measured). */
  function setupFrames() {
    document.querySelectorAll("iframe[data-fit-content]").forEach(function (frame) {
      function fit() {
        var doc = frame.contentDocument;
        if (doc && doc.documentElement) frame.style.height = doc.documentElement.scrollHeight + "px";
      }
      frame.addEventListener("load", fit);
      if (frame.contentDocument && frame.contentDocument.readyState === "complete") fit();
    });
  }

  /* Settings → Payment: a "Copy" button next to a read-only field (data-copy names the field) copies its text; the
   * button is hidden without JavaScript, where the field's text is selected and copied by hand. */
  function setupCopyButtons() {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      var field = document.getElementById(button.getAttribute("data-copy"));
      if (!field) return;
      var label = button.textContent;
      button.hidden = false;
      button.addEventListener("click", function () {
        function done() {
          button.textContent = button.getAttribute("data-copied") || label;
          window.setTimeout(function () { button.textContent = label; }, 2000);
        }
        field.focus();
        field.select();
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(field.value).then(done, function () {
            if (document.execCommand("copy")) done();
          });
        } else if (document.execCommand("copy")) {
          done();
        }
      });
    });
  }

  /* A link to a collapsed block (<details>, "set up Stripe above") opens it. */
  function openTarget() {
    var id = window.location.hash.slice(1);
    var target = id && document.getElementById(id);
    var details = target && target.closest("details");
    if (details) details.open = true;
  }

  function start() {
    setupMenu();
    setupFrames();
    setupCopyButtons();
    openTarget();
    window.addEventListener("hashchange", openTarget);
    setupRegions(document);
    /* htmx swaps rows into a table (new orders appear without a reload): its width may change. */
    document.body.addEventListener("htmx:afterSettle", function () {
      document.querySelectorAll(".table-scroll[role='region']").forEach(updateRegion);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
