// Pages that change while runs go: fetch the #live part from its data-src and swap it in,
// every second while something in it says data-live="1" (a running flow), else every
// data-idle milliseconds if the box has that (the runs list), else stop.  The server
// escapes every value in the part.
(function () {
  "use strict";
  var box = document.getElementById("live");
  if (!box) { return; }
  function next() {
    var idle = box.getAttribute("data-idle");
    if (box.querySelector('[data-live="1"]')) { setTimeout(tick, 1000); }
    else if (idle) { setTimeout(tick, Number(idle)); }
  }
  function tick() {
    fetch(box.getAttribute("data-src"), {credentials: "same-origin", cache: "no-store"})
      .then(function (answer) {
        if (!answer.ok) { throw new Error("HTTP " + answer.status); }
        return answer.text();
      })
      .then(function (part) {
        box.innerHTML = part;
        var titled = box.querySelector("[data-title]");
        if (titled) { document.title = titled.getAttribute("data-title"); }
        next();
      })
      .catch(function () { setTimeout(tick, 3000); });
  }
  next();
}());
