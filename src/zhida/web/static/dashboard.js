// The leaders' dashboard: charts from the JSON data blocks the page carries (no inline script:
// the Content-Security-Policy allows only files served by this site).
document.addEventListener("DOMContentLoaded", () => {
  const el = document.getElementById("by-policy");
  const data = JSON.parse(document.getElementById("by-policy-data").textContent);
  const chart = echarts.init(el, null, { renderer: "svg" });
  chart.setOption({
    grid: { left: 8, right: 16, top: 8, bottom: 8, containLabel: true },
    tooltip: { trigger: "axis", valueFormatter: (fen) => (fen / 100).toLocaleString("zh-CN") + " 元" },
    xAxis: { type: "value", axisLabel: { formatter: (fen) => (fen / 1e6).toLocaleString("zh-CN") + " 万" } },
    yAxis: { type: "category", data: data.names, axisLabel: { width: 160, overflow: "truncate" } },
    series: [{ type: "bar", data: data.fen, itemStyle: { color: "#b4232a" } }],
  });
  const funnelEl = document.getElementById("funnel");
  const steps = JSON.parse(document.getElementById("funnel-data").textContent);
  const funnel = echarts.init(funnelEl, null, { renderer: "svg" });
  funnel.setOption({
    tooltip: { trigger: "item", formatter: (p) => `${p.name}：${p.value.toLocaleString("zh-CN")} 家` },
    series: [{
      type: "funnel", sort: "none", left: 8, right: 8, top: 8, bottom: 8, minSize: "8%",
      label: { formatter: (p) => `${p.name} ${p.value.toLocaleString("zh-CN")}` },
      data: steps.names.map((name, i) => ({ name, value: steps.firms[i] })),
      itemStyle: { color: "#b4232a", borderColor: "#fff" },
    }],
  });
  window.addEventListener("resize", () => { chart.resize(); funnel.resize(); });
  el.dataset.ready = "true";
  funnelEl.dataset.ready = "true";
});
