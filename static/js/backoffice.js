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

  function start() {
    setupMenu();
    setupFrames();
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
