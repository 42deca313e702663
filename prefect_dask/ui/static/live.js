// A running flow's page: fetch the #live part once a second and swap it in, until the run
// has ended (the part's #state says data-live="0").  The server escapes every value in it.
(function () {
  "use strict";
  var box = document.getElementById("live");
  if (!box) { return; }
  function tick() {
    fetch(box.getAttribute("data-src"), {credentials: "same-origin", cache: "no-store"})
      .then(function (answer) {
        if (!answer.ok) { throw new Error("HTTP " + answer.status); }
        return answer.text();
      })
      .then(function (part) {
        box.innerHTML = part;
        var state = document.getElementById("state");
        if (state && state.getAttribute("data-live") === "1") { setTimeout(tick, 1000); }
      })
      .catch(function () { setTimeout(tick, 3000); });
  }
  setTimeout(tick, 1000);
}());
