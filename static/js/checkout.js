/* Checkout: what the shopper chose is never changed behind their back (issue #10).
 *
 * Every change on the form posts it to the summary endpoint (htmx, see checkout.html). Its answer replaces the order
 * summary only, a region without inputs. The inputs themselves are never redrawn: a redraw under the pointer swallows
 * a click that is half done (pressed on the old element, released on the new one), a redraw that arrives after a
 * click puts back what was checked when the request left, and a redraw of the focused radio drops the keyboard focus.
 *
 * What does depend on the choices is the set of payment methods (cash on pickup only with pickup). The page holds
 * every method the checkout can offer, each saying which deliveries it goes with (data-offered-with="pickup
 * delivery", decided by the server; data-refused-with names those it is shown unavailable with, its reason beside it:
 * TWINT above its limit); this script shows and enables, or hides and disables, those same inputs the moment the
 * shipping method changes — in the capture phase, so before htmx posts the form, and without waiting for
 * the network. The shopper's own pick comes back when it is offered again. A later rule (a country field, say) adds
 * a token and a line to listed(); the principle stays: toggle the existing inputs, never replace them.
 *
 * The hidden payment_offer input tells the server which methods the page offers. Only when the server's answer
 * differs (the merchant changed the methods meanwhile; this script did not run) does it send the block again; the
 * shopper's current choice and the focus are then carried into the new block.
 */
(function () {
  "use strict";

  var form = document.querySelector("form[data-checkout]");
  if (!form) return;

  function radios() {
    return Array.prototype.slice.call(form.querySelectorAll('input[name="payment_method"]'));
  }

  function checkedPayment() {
    return form.querySelector('input[name="payment_method"]:checked');
  }

  // The shopper's own last pick (or what the page came with, their posted choice or the default).
  var chosen = checkedPayment() ? checkedPayment().value : null;

  function delivery() {
    var shipping = form.querySelector('input[name="shipping_method"]:checked');
    return shipping && shipping.hasAttribute("data-pickup") ? "pickup" : "delivery";
  }

  function listed(radio, attribute) {
    var tokens = (radio.getAttribute(attribute) || "").split(" ");
    return tokens.indexOf(delivery()) !== -1;
  }

  function applyOffer() {
    var offered = [];
    radios().forEach(function (radio) {
      var on = listed(radio, "data-offered-with");
      // a method that can't take this delivery's amount (TWINT above its limit) stays in sight, disabled, with why
      var refused = !on && listed(radio, "data-refused-with");
      var choice = radio.closest(".choice");
      var reason = choice.querySelector("[data-refusal]");
      radio.disabled = !on;
      choice.hidden = !on && !refused;
      if (reason) reason.hidden = !refused;
      if (on) offered.push(radio);
    });
    var current = checkedPayment();
    var own = offered.filter(function (radio) { return radio.value === chosen; })[0];
    if (own) {
      own.checked = true;
    } else if (current && current.disabled && offered.length) {
      offered[0].checked = true; // what they picked is not offered with this delivery: the first one that is
    }
    var none = form.querySelector("[data-none-offered]");
    if (none) none.hidden = offered.length > 0;
    var offer = form.querySelector('input[name="payment_offer"]');
    if (offer) offer.value = offered.map(function (radio) { return radio.value; }).join(" ");
  }

  document.addEventListener(
    "change",
    function (event) {
      var target = event.target;
      if (!form.contains(target)) return;
      if (target.name === "payment_method") chosen = target.value;
      if (target.name === "shipping_method") applyOffer();
    },
    true // capture: runs before htmx (listening on the form) reads the form for its request
  );
  // A page restored from the back/forward cache or by the browser's form restore keeps its checked radios.
  window.addEventListener("pageshow", applyOffer);
  applyOffer();

  // The rare redraw of the payment block: keep the shopper's current choice and the focus.
  var hadFocus = false;
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "payment-methods") return;
    hadFocus = target.contains(document.activeElement);
    var current = checkedPayment();
    if (!current) return;
    var inputs = event.detail.fragment.querySelectorAll('input[name="payment_method"]');
    var same = Array.prototype.filter.call(inputs, function (input) {
      return input.value === current.value && !input.disabled;
    })[0];
    if (!same) return;
    Array.prototype.forEach.call(inputs, function (input) { input.removeAttribute("checked"); });
    same.setAttribute("checked", "");
  });
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    if (!event.target || event.target.id !== "payment-methods") return;
    if (hadFocus) {
      var focus = checkedPayment() || event.target.querySelector('input[name="payment_method"]:not(:disabled)');
      if (focus) focus.focus();
    }
    hadFocus = false;
  });
})();
