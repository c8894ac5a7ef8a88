// cartback dashboard: progressive enhancement only. Every page works without
// this file; it draws the overview's daily chart with uPlot from the figures
// the server put in the element's data-chart attribute (the same figures are
// in the table below the chart), keeps email previews in step with the
// form beside them, and shows only the chosen provider's fields.
(function () {
  "use strict";

  function dayStamp(text) {
    // Local dates as UTC midnights; the axis is drawn in UTC so each label
    // shows the shop's date unchanged.
    var parts = text.split("-");
    return Date.UTC(+parts[0], +parts[1] - 1, +parts[2]) / 1000;
  }

  function drawChart(element) {
    if (typeof uPlot === "undefined") {
      return;
    }
    var data;
    try {
      data = JSON.parse(element.getAttribute("data-chart"));
    } catch (e) {
      return;
    }
    var days = data.days.map(dayStamp);
    var bars = uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.7, 24], gap: 2 }) : null;
    var mobile = window.matchMedia("(max-width: 760px)").matches;
    var options = {
      width: Math.max(element.clientWidth, 240),
      height: mobile ? 220 : 280,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); },
      cursor: { points: { show: false }, drag: { x: false, y: false } },
      legend: { live: true },
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(4, Math.ceil(max * 1.15))]; } } },
      axes: [
        { stroke: "#5b6472", grid: { show: false }, ticks: { show: false }, font: "12px system-ui, sans-serif" },
        { stroke: "#5b6472", grid: { stroke: "#edf0f5", width: 1 }, ticks: { show: false }, size: 40, font: "12px system-ui, sans-serif",
          values: function (u, splits) { return splits.map(function (v) { return Number.isInteger(v) ? String(v) : ""; }); } }
      ],
      series: [
        { label: "Day", value: "{D} {MMM} {YYYY}" },
        { label: "Abandoned", stroke: "#c98a16", fill: "rgba(233, 170, 50, 0.6)", width: 0, paths: bars, points: { show: false } },
        { label: "Recovered", stroke: "#1f4fd1", width: 2.5, points: { show: true, size: 6, fill: "#1f4fd1" } }
      ]
    };
    element.textContent = "";
    var chart = new uPlot(options, [days, data.abandoned, data.recovered], element);
    var pending = null;
    window.addEventListener("resize", function () {
      if (pending) {
        window.cancelAnimationFrame(pending);
      }
      pending = window.requestAnimationFrame(function () {
        chart.setSize({ width: Math.max(element.clientWidth, 240), height: options.height });
      });
    });
  }

  // Email previews follow their form as it is edited: each frame marked
  // js-live-preview reloads its data-src with the form's fields (draft=1), so
  // the server renders the unsaved settings with the very code that saves
  // them. Without this script the frames show what is saved.
  function livePreviews() {
    var frames = document.querySelectorAll("iframe.js-live-preview[data-form]");
    var groups = {};
    for (var i = 0; i < frames.length; i++) {
      var id = frames[i].getAttribute("data-form");
      (groups[id] = groups[id] || []).push(frames[i]);
    }
    Object.keys(groups).forEach(function (id) {
      var form = document.getElementById(id);
      if (!form) {
        return;
      }
      var timer = null;
      function refresh() {
        var params = new URLSearchParams(new FormData(form));
        params.delete("csrf");
        params.delete("action");
        params.delete("to");
        params.set("draft", "1");
        groups[id].forEach(function (frame) {
          var base = frame.getAttribute("data-src");
          var url = base + (base.indexOf("?") < 0 ? "?" : "&") + params.toString();
          try {
            // Replacing keeps the back button for the page, not each preview.
            frame.contentWindow.location.replace(url);
          } catch (e) {
            frame.src = url;
          }
        });
      }
      function later() {
        window.clearTimeout(timer);
        timer = window.setTimeout(refresh, 400);
      }
      form.addEventListener("input", later);
      form.addEventListener("change", later);
    });
  }

  // A select with data-shows="name" shows the fieldsets whose data-choice
  // matches its value (without script every fieldset shows, each labelled).
  function choiceGroups() {
    var selects = document.querySelectorAll("select[data-shows]");
    Array.prototype.forEach.call(selects, function (select) {
      var groups = document.querySelectorAll("[data-choice-of='" + select.getAttribute("data-shows") + "']");
      function sync() {
        Array.prototype.forEach.call(groups, function (group) {
          group.hidden = group.getAttribute("data-choice") !== select.value;
        });
      }
      select.addEventListener("change", sync);
      sync();
    });
  }

  function start() {
    var charts = document.querySelectorAll(".js-daily-chart");
    for (var i = 0; i < charts.length; i++) {
      drawChart(charts[i]);
    }
    livePreviews();
    choiceGroups();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
