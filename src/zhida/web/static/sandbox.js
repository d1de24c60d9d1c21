// 政策沙盘: bar charts from the data-chart attribute of each .sandbox-chart the workbench swaps in
// (no inline script: the Content-Security-Policy allows only files served by this site).
function drawSandboxCharts(root) {
  root.querySelectorAll(".sandbox-chart:not([data-ready])").forEach((el) => {
    const data = JSON.parse(el.dataset.chart);
    const chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption({
      grid: { left: 8, right: 16, top: 8, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", valueFormatter: (fen) => (fen / 100).toLocaleString("zh-CN") + " 元" },
      xAxis: { type: "value", axisLabel: { formatter: (fen) => (fen / 1e6).toLocaleString("zh-CN") + " 万" } },
      yAxis: { type: "category", data: data.names, inverse: true, axisLabel: { width: 120, overflow: "truncate" } },
      series: [{ type: "bar", data: data.fen, itemStyle: { color: "#b4232a" } }],
    });
    el.dataset.ready = "true";
  });
}
document.addEventListener("htmx:afterSwap", (event) => drawSandboxCharts(event.target));
