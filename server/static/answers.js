// briefing-rag web page: one question and its answer: streamed sentences, [n] markers shown
// with the number every copy uses, references, refusals and notices.
"use strict";

// ---------- one question and its answer ----------

function turnView(question) {
  const root = document.createElement("div");
  root.className = "turn";
  const q = document.createElement("div");
  q.className = "question";
  q.textContent = question;
  const answer = document.createElement("div");
  answer.className = "answer";
  const body = document.createElement("div");
  body.className = "answer-body";
  const extra = document.createElement("div");
  const actions = document.createElement("div");
  actions.className = "answer-actions";
  answer.append(body, extra, actions);
  root.append(q, answer);
  const view = { root, answer, body, extra, actions, passages: [], citations: {}, numbers: {} };
  views.set(root, view); // citation events find the passages behind a marker through this
  return view;
}

// The number a citation shows: the server's (1, 2, … in order of first appearance, as in every
// copy and export); while the answer streams, the same rule applied to what has arrived.
function displayNumber(view, n) {
  const cited = view.citations[n];
  if (cited && cited.number) return cited.number;
  if (!(n in view.numbers)) view.numbers[n] = Object.keys(view.numbers).length + 1;
  return view.numbers[n];
}

// Render one answer sentence: [n] markers (n: the passage) become superscript links.
function sentenceHtml(view, text, sentenceIndex, unsupported) {
  let html = "";
  let last = 0;
  for (const match of text.matchAll(/\[(\d+)\]/g)) {
    html += escapeHtml(text.slice(last, match.index));
    const n = match[1];
    const shown = displayNumber(view, n);
    const cls = unsupported ? "cite unverified" : "cite";
    html += `<sup class="${cls}"><a href="#" role="button" tabindex="0" data-n="${n}" data-sentence="${sentenceIndex}" aria-label="出处 ${shown}">[${shown}]</a></sup>`;
    last = match.index + match[0].length;
  }
  html += escapeHtml(text.slice(last));
  const cls = unsupported ? "sentence unsupported" : "sentence";
  const badge = unsupported ? '<span class="unsupported-badge" title="在检索到的段落中找不到依据">未核实</span>' : "";
  return `<span class="${cls}" data-index="${sentenceIndex}">${html}${badge}</span>`;
}

function appendToken(view, text) {
  const index = view.body.querySelectorAll(".sentence").length;
  view.body.insertAdjacentHTML("beforeend", sentenceHtml(view, text, index, false));
}

function showAnswer(view, record) {
  view.record = record;
  view.passages = record.passages || [];
  view.citations = Object.fromEntries((record.citations || []).map((c) => [String(c.n), c]));
  view.answer.classList.remove("streaming");
  view.answer.classList.toggle("refusal", Boolean(record.refused));
  view.extra.innerHTML = "";
  view.actions.innerHTML = "";
  if (record.sentences && record.sentences.length) {
    view.body.innerHTML = record.sentences.map((s, i) => sentenceHtml(view, s.text, i, !s.supported)).join("");
  } else {
    view.body.innerHTML = sentenceHtml(view, record.answer, 0, false);
  }
  if (record.refused) {
    view.extra.innerHTML = `<div class="refusal-reason">拒答：${escapeHtml(record.refusal_reason || "资料不足")}</div>`;
    if (view.passages.length) view.extra.append(closestPassages(view));
  } else if (record.citations && record.citations.length) {
    if ((record.sentences || []).some((s) => s.status === "quoted")) {
      // The extractive answerer quotes the briefing word for word: say so, rather than "verified".
      view.extra.insertAdjacentHTML("beforeend", '<div class="quoted-label" title="回答中的句子逐字摘自所引段落">原文摘录</div>');
    }
    const refs = document.createElement("ol");
    refs.className = "references";
    const ordered = [...record.citations].sort((a, b) => displayNumber(view, String(a.n)) - displayNumber(view, String(b.n)));
    for (const c of ordered) {
      const li = document.createElement("li");
      li.value = displayNumber(view, String(c.n));
      const text = c.reference || `《${c.title}》${c.section ? "，" + c.section : ""}，${c.page}`;
      li.innerHTML = `${escapeHtml(text)}${c.supported ? "" : '<span class="unsupported-badge">未核实</span>'}`;
      refs.append(li);
    }
    view.extra.append(refs);
  }
  if (record.notices && record.notices.length) {
    const notes = document.createElement("ul");
    notes.className = "notices";
    for (const notice of record.notices) {
      const li = document.createElement("li");
      li.textContent = notice;
      notes.append(li);
    }
    view.extra.append(notes);
  }
  if (!record.refused) {
    // A refusal has nothing to put into a draft.
    view.actions.append(
      copyButton("复制（Word 格式）", { html: record.html, plain: record.plain }, view),
      copyButton("复制 Markdown（脚注）", { plain: record.markdown }, view),
      exportButton("下载 Word", () => exportTurns("docx", [turnExport(record.question, record)])),
    );
  }
}

function closestPassages(view) {
  const details = document.createElement("details");
  details.className = "closest";
  details.innerHTML = `<summary>查看最接近的 ${view.passages.length} 个段落</summary>`;
  const list = document.createElement("ol");
  for (const passage of view.passages) {
    const li = document.createElement("li");
    const open = document.createElement("button");
    open.className = "open-source";
    open.textContent = `《${passage.title}》 ${placeLabel(passage)}`;
    open.addEventListener("click", () => openSource(passage));
    const snippet = document.createElement("div");
    snippet.className = "hint";
    snippet.textContent = passage.text.length > 120 ? passage.text.slice(0, 120) + "……" : passage.text;
    li.append(open, snippet);
    list.append(li);
  }
  details.append(list);
  return details;
}

function showError(view, message) {
  view.answer.classList.remove("streaming");
  view.extra.innerHTML = `<div class="error" role="alert">${escapeHtml(message)}</div>`;
}
