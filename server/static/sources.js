// briefing-rag web page: citations: the hover card and the source panel, both marking where
// the passage says what the answer sentence says (the server's evidence spans).
"use strict";

// ---------- citations: hover card and source panel ----------

function citationTarget(anchor) {
  const view = viewFor(anchor);
  if (!view) return null;
  const n = anchor.dataset.n;
  const passage = view.citations[n] || view.passages[Number(n) - 1];
  if (!passage) return null;
  // Where the passage says what the sentence says, as the server located it.
  const sentenceNode = anchor.closest(".sentence");
  const sentence = sentenceNode && view.record ? (view.record.sentences || [])[Number(sentenceNode.dataset.index)] : null;
  const span = sentence ? (sentence.evidence || []).find((e) => String(e.n) === n) : null;
  return { passage, span: span || null };
}

function viewFor(node) {
  const root = node.closest(".turn");
  return root ? views.get(root) : null;
}

function showHovercard(anchor) {
  const target = citationTarget(anchor);
  if (!target) return;
  const { passage, span } = target;
  const card = $("#hovercard");
  card.innerHTML =
    `<div class="hc-title">[${escapeHtml(anchor.dataset.n)}] 《${escapeHtml(passage.title)}》</div>` +
    `<div class="hc-meta">${escapeHtml(placeLabel(passage))}</div>` +
    `<div class="hc-text">${highlighted(passage.text, span)}</div>` +
    `<div class="hc-hint">点击查看简报原文</div>`;
  card.hidden = false;
  const box = anchor.getBoundingClientRect();
  const width = card.offsetWidth;
  const left = Math.max(8, Math.min(box.left, window.innerWidth - width - 8));
  const below = box.bottom + 6;
  const top = below + card.offsetHeight > window.innerHeight ? Math.max(8, box.top - card.offsetHeight - 6) : below;
  card.style.left = `${left}px`;
  card.style.top = `${top}px`;
}

function hideHovercard() {
  $("#hovercard").hidden = true;
}

async function openSource(passage, span) {
  const panel = $("#source-panel");
  panel.hidden = false;
  $("#source-title").textContent = `《${passage.title}》`;
  $("#source-meta").textContent = placeLabel(passage);
  const note = $("#source-note");
  note.hidden = true;
  const text = $("#source-text");
  text.textContent = "正在载入原文……";
  try {
    const source = await apiJson(`/api/source?chunk_id=${encodeURIComponent(passage.chunk_id)}`);
    // Offsets count code points (Python), not UTF-16 units.
    const chars = Array.from(source.context);
    const start = source.highlight_start;
    const end = source.highlight_end;
    if (chars.slice(start, end).join("") !== passage.text) throw new Error("changed");
    // The passage is shaded; within it, the sentence the answer cites is marked.
    const [from, to] = span ? [start + span.start, start + span.end] : [start, end];
    text.innerHTML =
      (source.starts_at_beginning ? "" : "……") +
      sourceHtml(chars, 0, start) +
      `<span id="source-mark" class="passage">${sourceHtml(chars, start, from)}<mark>${sourceHtml(chars, from, to)}</mark>${sourceHtml(chars, to, end)}</span>` +
      sourceHtml(chars, end, chars.length) +
      (source.ends_at_end ? "" : "……");
    $("#source-meta").textContent = `${placeLabel(source)}${source.kind === "pdf" ? "（PDF 该页全文）" : ""}`;
  } catch (e) {
    note.hidden = false;
    note.textContent = "这篇简报已不在当前索引中（可能已删除或重建），下面是回答时保存的段落原文。";
    text.innerHTML = `<span id="source-mark" class="passage">${highlighted(passage.text, span || { start: 0, end: Array.from(passage.text).length })}</span>`;
  }
  const mark = $("#source-mark mark") || $("#source-mark");
  if (mark) mark.scrollIntoView({ block: "center" });
}

// Source text as HTML: a line that opens with Markdown #'s is shown as a heading, without them.
function sourceHtml(chars, from, to) {
  let html = "";
  let at = from;
  while (at < to) {
    let end = at;
    while (end < to && chars[end] !== "\n") end++;
    const line = chars.slice(at, end).join("");
    const heading = at === 0 || chars[at - 1] === "\n" ? /^#{1,6}\s+/.exec(line) : null;
    html += heading ? `<span class="source-heading">${escapeHtml(line.slice(heading[0].length))}</span>` : escapeHtml(line);
    if (end < to) html += "\n";
    at = end + 1;
  }
  return html;
}

// A new answer while the source panel is open: show the source of its first citation.
function followNewestAnswer(view) {
  if ($("#source-panel").hidden || !view.record || view.record.refused) return;
  const first = (view.record.citations || []).find((c) => c.number === 1);
  if (!first) return;
  const sentence = (view.record.sentences || []).find((s) => s.cited.includes(first.n));
  const span = sentence ? (sentence.evidence || []).find((e) => e.n === first.n) : null;
  openSource(view.passages[first.n - 1] || first, span || null);
}

function closeSource() {
  $("#source-panel").hidden = true;
}

function onCitationEvent(event) {
  const anchor = event.target.closest("sup.cite a");
  if (!anchor) return;
  if (event.type === "mouseover" || event.type === "focusin") showHovercard(anchor);
  else if (event.type === "mouseout" || event.type === "focusout") hideHovercard();
  else if (event.type === "click" || (event.type === "keydown" && (event.key === "Enter" || event.key === " "))) {
    event.preventDefault();
    const target = citationTarget(anchor);
    if (target) openSource(target.passage, target.span);
  }
}
