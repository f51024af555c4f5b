/* Small behaviours of every page, kept out of the HTML (the Content-Security-Policy allows no inline script).
 *
 * A select with data-autosubmit submits its form when it changes (the storefront's "Sort by"; without JavaScript
 * the form's own button does it). */
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.matches && field.matches("select[data-autosubmit]") && field.form) {
      if (field.form.requestSubmit) field.form.requestSubmit();
      else field.form.submit();
    }
  });
})();
