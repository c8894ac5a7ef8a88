// cartback dashboard: the Copy buttons beside read-only fields (a restore
// link, a webhook signing secret). Without script the buttons stay hidden and
// the field is selected and copied by hand.
(function () {
  "use strict";

  function copy(button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) {
      return;
    }
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      button.classList.add("copied");
      window.setTimeout(function () {
        button.textContent = label;
        button.classList.remove("copied");
      }, 1600);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () {
        field.select();
      });
    } else {
      // Plain http off localhost has no clipboard API: select the text so
      // one keystroke copies it.
      field.focus();
      field.select();
    }
  }

  function start() {
    var buttons = document.querySelectorAll(".js-copy[data-copy]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].hidden = false;
      buttons[i].addEventListener("click", function (event) {
        copy(event.currentTarget);
      });
    }
    // Select a read-only copy field's whole text on focus.
    var fields = document.querySelectorAll(".copy-field");
    for (var j = 0; j < fields.length; j++) {
      fields[j].addEventListener("focus", function (event) {
        event.currentTarget.select();
      });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
