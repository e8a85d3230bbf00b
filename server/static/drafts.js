// briefing-rag web page: into the draft: copy (rich text beside plain text, or Markdown) and
// exports written by the server (Word with footnotes, Markdown).
"use strict";

function copyButton(label, content, view) {
  const button = document.createElement("button");
  button.className = "secondary copy";
  button.textContent = label;
  button.addEventListener("click", async () => {
    await copyContent(content);
    let note = view.actions.querySelector(".copied");
    if (!note) {
      note = document.createElement("span");
      note.className = "copied";
      view.actions.append(note);
    }
    note.textContent = "已复制";
    setTimeout(() => (note.textContent = ""), 2000);
  });
  return button;
}

// Rich text (text/html, which Word, WPS and LibreOffice paste with its superscripts) beside plain text.
async function copyContent({ html, plain }) {
  try {
    if (html && window.ClipboardItem) {
      await navigator.clipboard.write([
        new ClipboardItem({
          "text/html": new Blob([html], { type: "text/html" }),
          "text/plain": new Blob([plain || ""], { type: "text/plain" }),
        }),
      ]);
    } else {
      await navigator.clipboard.writeText(plain || "");
    }
  } catch (e) {
    console.warn("clipboard API refused, copying plain text instead:", e);
    const area = document.createElement("textarea");
    area.value = plain || "";
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
}

// ---------- download ----------

function exportButton(label, action) {
  const button = document.createElement("button");
  button.className = "secondary export";
  button.textContent = label;
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await action();
    } catch (e) {
      alert(`导出失败：${e.message}`);
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

function turnExport(question, record) {
  const citations = (record.citations || []).map((c) => ({ n: c.n, reference: c.reference || null, title: c.title, section: c.section }));
  return { question, answer: record.answer, refused: Boolean(record.refused), refusal_reason: record.refusal_reason || null, citations };
}

// The server writes every export (Word footnotes, Markdown with ids unique across the file).
async function exportTurns(format, turns, title = null) {
  const response = await fetchWithKey(`/api/export/${format}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ title, turns }),
  });
  await saveResponse(response, `问答.${format === "docx" ? "docx" : "md"}`);
}

function downloadConversation(format) {
  const conversation = currentConversation();
  const turns = conversation.turns.filter((turn) => turn.record).map((turn) => turnExport(turn.question, turn.record));
  return exportTurns(format, turns, conversation.title);
}
