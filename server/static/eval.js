// briefing-rag web page, 评测 tab: run an eval set in the background, read its report with the
// chart, open any item's answer and passages, compare two runs, download the report.
// Uses the helpers of common.js ($, apiJson, fetchWithKey, escapeHtml, saveResponse).
"use strict";

const evalState = { runs: [], polling: null, report: null };
const RUN_COLUMNS = ["keyword_coverage", "refusal_accuracy", "false_refusal_rate"];

function evalNumber(value) {
  return value === null || value === undefined ? "–" : Number(value).toFixed(3);
}

async function refreshEval() {
  try {
    const [sets, runs, status] = await Promise.all([
      apiJson("/api/eval/sets"),
      apiJson("/api/eval/runs"),
      apiJson("/api/eval/status"),
    ]);
    showEvalSets(sets);
    evalState.runs = runs;
    showEvalRuns();
    showEvalStatus(status);
    if (status.state === "running") pollEval();
  } catch (e) {
    $("#eval-status").textContent = `无法读取评测信息：${e.message}`;
  }
}

function showEvalSets(sets, chosen = null) {
  const select = $("#eval-set");
  const keep = chosen || select.value;
  select.innerHTML = sets.length ? "" : '<option value="">（eval/sets/ 中还没有评测集，请上传）</option>';
  for (const set of sets) {
    const option = document.createElement("option");
    option.value = set.name;
    option.textContent = `${set.name}（${set.items} 题）`;
    select.append(option);
  }
  if (sets.some((s) => s.name === keep)) select.value = keep;
  $("#eval-start").disabled = !sets.length;
}

function showEvalRuns() {
  const body = $("#eval-runs tbody");
  body.innerHTML = "";
  for (const run of evalState.runs) {
    const row = document.createElement("tr");
    const cells = [run.eval_set, run.items, ...RUN_COLUMNS.map((key) => evalNumber(run.metrics[key]))];
    row.innerHTML =
      `<td><input type="checkbox" class="eval-pick" value="${escapeHtml(run.run)}" aria-label="选择 ${escapeHtml(run.run)} 作对比"></td>` +
      `<td>${escapeHtml(run.run)}</td>` +
      cells.map((cell) => `<td>${escapeHtml(String(cell))}</td>`).join("") +
      `<td><button class="secondary eval-open">查看</button></td>`;
    row.querySelector(".eval-open").addEventListener("click", () => showEvalReport(run.run));
    row.querySelector(".eval-pick").addEventListener("change", updateCompareButton);
    body.append(row);
  }
  updateCompareButton();
}

function pickedRuns() {
  return [...document.querySelectorAll(".eval-pick:checked")].map((box) => box.value);
}

function updateCompareButton() {
  $("#eval-compare").disabled = pickedRuns().length !== 2;
}

function showEvalStatus(status) {
  const bar = $("#eval-progress");
  const text = $("#eval-status");
  bar.hidden = status.state !== "running";
  if (status.state === "running") {
    bar.max = status.total || 1;
    bar.value = status.done;
    text.textContent = `正在评测 ${status.eval_set}：${status.stage || "准备"} ${status.done}/${status.total || "?"}`;
  } else if (status.state === "done") {
    text.textContent = `评测完成：${status.run}`;
  } else if (status.state === "failed") {
    text.textContent = `评测失败：${status.error ? status.error.message : "未知原因"}`;
  } else {
    text.textContent = "";
  }
  $("#eval-start").disabled = status.state === "running";
}

function pollEval() {
  if (evalState.polling) return;
  evalState.polling = setInterval(async () => {
    const status = await apiJson("/api/eval/status").catch(() => null);
    if (!status) return;
    showEvalStatus(status);
    if (status.state !== "running") {
      clearInterval(evalState.polling);
      evalState.polling = null;
      evalState.runs = await apiJson("/api/eval/runs");
      showEvalRuns();
      if (status.state === "done") showEvalReport(status.run);
    }
  }, 500);
}

async function uploadEvalSet(file) {
  const form = new FormData();
  form.append("file", file);
  try {
    const saved = await apiJson("/api/eval/sets", { method: "POST", body: form });
    showEvalSets(await apiJson("/api/eval/sets"), saved.name);
    $("#eval-status").textContent = `已上传评测集 ${saved.name}（${saved.items} 题）`;
  } catch (e) {
    $("#eval-status").textContent = `评测集有问题：${e.message}`;
  }
}

async function startEval() {
  try {
    showEvalStatus(
      await apiJson("/api/eval/runs", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ set: $("#eval-set").value }),
      }),
    );
    pollEval();
  } catch (e) {
    $("#eval-status").textContent = `无法开始评测：${e.message}`;
  }
}

// ---------- one report ----------

async function showEvalReport(run) {
  const section = $("#eval-report");
  section.hidden = false;
  section.innerHTML = `<h2>评测报告：${escapeHtml(run)}</h2><p class="hint">正在载入……</p>`;
  const report = await apiJson(`/api/eval/runs/${encodeURIComponent(run)}`);
  evalState.report = report;
  const metrics = Object.entries(report.labels)
    .map(([key, label]) => `<tr><td>${escapeHtml(label)}</td><td class="num">${evalNumber(report[key])}</td></tr>`)
    .join("");
  section.innerHTML =
    `<h2>评测报告：${escapeHtml(run)}</h2>` +
    `<ul class="eval-summary">${report.summary.map((line) => `<li>${escapeHtml(line.replace(/^- /, "").replace(/\*\*/g, ""))}</li>`).join("")}</ul>` +
    `<div class="eval-actions"><button class="secondary" id="eval-download">下载报告（Markdown）</button></div>` +
    `<img id="eval-chart" class="eval-chart" alt="各项指标与按题型的指标">` +
    `<h3>总体指标</h3><table class="eval-metrics"><tbody>${metrics}</tbody></table>` +
    `<h3>逐题结果（点击查看回答与段落）</h3><div class="table-wrap"><table class="eval-items"><thead><tr><th>题目</th><th>题型</th><th>结果</th></tr></thead><tbody></tbody></table></div>` +
    `<div id="eval-item" class="eval-item" hidden></div>`;
  $("#eval-download").addEventListener("click", async () => {
    const response = await fetchWithKey(`/api/eval/runs/${encodeURIComponent(run)}/files/report.md`);
    await saveResponse(response, `${run}-report.md`).catch((e) => alert(`下载失败：${e.message}`));
  });
  const chart = await fetchWithKey(`/api/eval/runs/${encodeURIComponent(run)}/files/chart.png`);
  if (chart.ok) $("#eval-chart").src = URL.createObjectURL(await chart.blob());
  const rows = section.querySelector(".eval-items tbody");
  for (const item of report.items) {
    const row = document.createElement("tr");
    row.className = "eval-item-row";
    row.tabIndex = 0;
    row.innerHTML = `<td>${escapeHtml(item.id)}</td><td>${escapeHtml(report.type_labels[item.type] || item.type)}</td><td>${escapeHtml(item.verdict)}</td>`;
    row.addEventListener("click", () => showEvalItem(run, item.id));
    rows.append(row);
  }
  section.scrollIntoView({ block: "start" });
}

async function showEvalItem(run, id) {
  const box = $("#eval-item");
  const { record } = await apiJson(`/api/eval/runs/${encodeURIComponent(run)}/items/${encodeURIComponent(id)}`);
  const passages = (record.answer_passages || [])
    .map((p, i) => `<li value="${i + 1}"><strong>《${escapeHtml(p.title)}》</strong> ${escapeHtml(p.section || "")} ${escapeHtml(p.page || "")}<div>${escapeHtml(p.text)}</div></li>`)
    .join("");
  const history = (record.history || []).map((t) => `<li>${t.role === "user" ? "问" : "答"}：${escapeHtml(t.content)}</li>`).join("");
  box.hidden = false;
  box.innerHTML =
    `<h3>${escapeHtml(id)}：${escapeHtml(record.question)}</h3>` +
    (history ? `<p class="hint">对话历史：</p><ul>${history}</ul>` : "") +
    `<p class="hint">${record.refused ? `拒答（${escapeHtml(record.refusal_reason || "")}）` : "回答"}：</p>` +
    `<blockquote class="eval-answer">${escapeHtml(record.answer)}</blockquote>` +
    `<p class="hint">交给回答器的段落（回答中的 [n] 指第 n 段）：</p><ol class="eval-passages">${passages}</ol>`;
  box.scrollIntoView({ block: "nearest" });
}

// ---------- comparing two runs ----------

async function compareEvalRuns() {
  const [a, b] = pickedRuns();
  const section = $("#eval-report");
  section.hidden = false;
  try {
    const { markdown } = await apiJson(`/api/eval/compare?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`);
    section.innerHTML = `<h2>对比：${escapeHtml(a)} → ${escapeHtml(b)}</h2><pre class="eval-comparison">${escapeHtml(markdown)}</pre>`;
  } catch (e) {
    section.innerHTML = `<p class="error">无法对比：${escapeHtml(e.message)}</p>`;
  }
}

$("#eval-start").addEventListener("click", startEval);
$("#eval-compare").addEventListener("click", compareEvalRuns);
$("#eval-upload").addEventListener("change", (event) => {
  const [file] = event.target.files;
  if (file) uploadEvalSet(file);
  event.target.value = "";
});
