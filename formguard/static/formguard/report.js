// The report page in the admin: show the way back and the print button (a
// script file, not an onclick attribute: a strict Content-Security-Policy
// allows it). A saved copy of the page loads no script and shows neither.
document.addEventListener("DOMContentLoaded", function () {
  var tools = document.querySelector(".fg-report-tools");
  var print = document.getElementById("fg-report-print");
  if (!tools || !print) return;
  print.addEventListener("click", function () {
    window.print();
  });
  tools.hidden = false;
});
