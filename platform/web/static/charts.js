// Charts of the report and dashboard pages, drawn with Apache ECharts.
//
// Each <div data-chart="ID"> names a <script type="application/json" id="ID"> block that
// the server filled with the report engine's ECharts option (trellis.reports.charts): data
// items carry `text` (the value as people read it), `href` (the list page of the records
// behind the segment) and, in a funnel, `share` (of the first stage). This file adds the
// styling, tooltips and clicks. No inline code anywhere (the CSP allows scripts from this
// site only), and labels are record data: tooltips are built as DOM nodes with textContent,
// never as HTML, and canvas labels come from formatter functions, never from "{b}"
// templates that would read a name containing "{c}" as a placeholder.
(function () {
  "use strict";

  var PALETTE = ["#1f6feb", "#2e7d32", "#f59f00", "#c62828", "#6f42c1", "#0b7285",
                 "#e8590c", "#5c7cfa", "#868e96", "#d6336c"];

  function readSpec(container) {
    var block = document.getElementById(container.dataset.chart);
    if (!block) return null;
    try { return JSON.parse(block.textContent); } catch (e) { return null; }
  }

  function narrow(container) { return container.clientWidth < 480; }

  // -- tooltips: DOM nodes, so a name like <script>alert(1)</script> stays text ---------

  function line(parent, name, text, color) {
    var row = document.createElement("div");
    row.className = "chart-tip-row";
    if (color && typeof color === "string") {
      var dot = document.createElement("span");
      dot.className = "chart-tip-dot";
      dot.style.setProperty("background-color", color); // CSSOM: allowed by the CSP
      row.appendChild(dot);
    }
    if (name) {
      var label = document.createElement("span");
      label.className = "chart-tip-name";
      label.textContent = name;
      row.appendChild(label);
    }
    var value = document.createElement("strong");
    value.textContent = text;
    row.appendChild(value);
    parent.appendChild(row);
  }

  function itemText(data, fallback) {
    if (data && typeof data === "object" && data.text != null) return String(data.text);
    return fallback == null ? "–" : String(fallback);
  }

  function tooltip(params) {
    var box = document.createElement("div");
    box.className = "chart-tip";
    var list = Array.isArray(params) ? params : [params];
    if (Array.isArray(params) && list.length) {
      var head = document.createElement("div");
      head.className = "chart-tip-head";
      head.textContent = list[0].axisValueLabel != null ? list[0].axisValueLabel : list[0].name;
      box.appendChild(head);
    }
    list.forEach(function (p) {
      var data = p.data;
      var text = itemText(data, p.value);
      if (data && data.share && p.dataIndex > 0) text += " (" + data.share + ")";
      if (p.seriesType === "pie" && p.percent != null) text += " (" + p.percent + "%)";
      var name = Array.isArray(params) ? p.seriesName : p.name;
      line(box, name, text, p.color);
    });
    return box;
  }

  // -- options per chart type -------------------------------------------------------------

  function base(option) {
    option.color = PALETTE;
    option.animationDuration = 400;
    option.textStyle = { fontFamily: getComputedStyle(document.body).fontFamily };
    return option;
  }

  function funnel(option, container) {
    option.tooltip = { trigger: "item", formatter: tooltip };
    delete option.legend; // stage names are on the stages themselves
    option.series.forEach(function (s) {
      s.left = "5%"; s.width = "90%"; s.top = 10; s.bottom = 10;
      s.minSize = narrow(container) ? "45%" : "35%"; // room for the last stages' labels
      s.label = {
        show: true, position: "inside", color: "#fff",
        fontSize: narrow(container) ? 11 : 13,
        formatter: function (p) {
          var text = p.name + "  " + itemText(p.data, p.value);
          if (p.data && p.data.share && p.dataIndex > 0) text += " · " + p.data.share;
          return text;
        }
      };
    });
  }

  function pie(option, container) {
    option.tooltip = { trigger: "item", formatter: tooltip };
    option.legend = Object.assign(option.legend || {}, { type: "scroll", bottom: 0 });
    option.series.forEach(function (s) {
      s.radius = narrow(container) ? ["30%", "60%"] : ["35%", "70%"];
      s.center = ["50%", "45%"];
      s.label = { formatter: function (p) { return p.name + " " + p.percent + "%"; } };
    });
  }

  function axes(option, container) {
    option.tooltip = { trigger: "axis", formatter: tooltip, confine: true };
    option.legend = Object.assign(option.legend || {}, { type: "scroll", top: 0 });
    option.grid = { left: 8, right: 16, top: 36, bottom: 8, containLabel: true };
    option.xAxis.axisLabel = {
      hideOverlap: true, rotate: narrow(container) ? 30 : 0,
      formatter: function (value) { return String(value); }
    };
    option.yAxis.axisLabel = { formatter: compact };
    // Percentages beside counts or money get their own axis on the right, drawn as lines.
    var percent = option.series.filter(function (s) { return s.format === "percent"; });
    if (percent.length && percent.length < option.series.length) {
      option.yAxis = [option.yAxis, {
        type: "value", min: 0, splitLine: { show: false },
        axisLabel: { formatter: function (v) { return v + "%"; } }
      }];
      percent.forEach(function (s) { s.yAxisIndex = 1; s.type = "line"; });
    } else if (percent.length) {
      option.yAxis.axisLabel = { formatter: function (v) { return v + "%"; } };
    }
    option.series.forEach(function (s) {
      if (s.stack === null) delete s.stack;
      if (s.type === "line") { s.smooth = false; s.symbolSize = 6; s.connectNulls = true; }
      if (s.type === "bar") s.barMaxWidth = 36;
    });
  }

  function compact(value) {
    var n = Number(value);
    if (Math.abs(n) >= 1e8) return (n / 1e8).toFixed(1).replace(/\.0$/, "") + "亿";
    if (Math.abs(n) >= 1e4) return (n / 1e4).toFixed(1).replace(/\.0$/, "") + "万";
    return String(n);
  }

  function gauge(option, container, spec) {
    var texts = spec.gauge || {};
    var small = narrow(container);
    option.tooltip = { trigger: "item", formatter: tooltip };
    option.series.forEach(function (s) {
      var item = s.data[0] || {};
      s.radius = "90%";
      s.center = ["50%", "58%"];
      s.startAngle = 200; s.endAngle = -20;
      s.splitNumber = 4;
      s.progress = { show: true, width: small ? 10 : 14 };
      s.axisLine = { lineStyle: { width: small ? 10 : 14 } };
      s.splitLine = { show: false };
      s.axisTick = { show: false };
      s.axisLabel = { show: !small, distance: 20, formatter: compact };
      s.pointer = { show: false };
      s.anchor = { show: false };
      s.title = { show: true, offsetCenter: [0, "35%"], fontSize: 12 };
      s.detail = {
        valueAnimation: false, offsetCenter: [0, "0%"], fontSize: small ? 18 : 24,
        formatter: function () {
          // Against a target the gauge reads the share attained; otherwise the figure.
          return texts.attainment || itemText(item, item.value);
        }
      };
    });
  }

  var BUILD = { funnel: funnel, pie: pie, bar: axes, line: axes, gauge: gauge };

  // -- drawing, clicks, resizing ----------------------------------------------------------

  function localHref(href) {
    return typeof href === "string" && href.charAt(0) === "/" && href.charAt(1) !== "/";
  }

  function draw(container) {
    if (container.dataset.drawn || typeof echarts === "undefined") return;
    var spec = readSpec(container);
    if (!spec || !BUILD[spec.chart]) return;
    container.dataset.drawn = "1";
    var option = base(spec.option);
    BUILD[spec.chart](option, container, spec);
    var chart = echarts.init(container, null, { renderer: "canvas" });
    chart.on("finished", function () { container.dataset.rendered = "1"; });
    chart.on("click", function (params) {
      var href = params.data && params.data.href;
      if (localHref(href)) window.location.assign(href);
    });
    chart.setOption(option);
    // The window, and the container (a dashboard grid reflowing to one column), resize it.
    window.addEventListener("resize", function () { chart.resize(); });
    if (typeof ResizeObserver !== "undefined") {
      new ResizeObserver(function () { chart.resize(); }).observe(container);
    }
  }

  // Dashboard widgets: their grid place from data- attributes, as CSS custom properties.
  function place(root) {
    root.querySelectorAll(".dashboard-grid").forEach(function (grid) {
      grid.style.setProperty("--columns", grid.dataset.columns || "12");
      grid.querySelectorAll(".widget[data-w]").forEach(function (w) {
        w.style.setProperty("--gx", String(Number(w.dataset.x) + 1));
        w.style.setProperty("--gy", String(Number(w.dataset.y) + 1));
        w.style.setProperty("--gw", w.dataset.w);
        w.style.setProperty("--gh", w.dataset.h);
      });
    });
  }

  function start() {
    place(document);
    document.querySelectorAll("[data-chart]").forEach(draw);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
