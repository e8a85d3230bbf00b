// briefing-rag web page: conversations (kept in this browser), asking with streamed answers,
// tabs, and the wiring of it all (init, once every script has loaded; see common.js).
"use strict";

// ---------- storage ----------

function loadConversations() {
  try {
    const saved = JSON.parse(localStorage.getItem(STORE_KEY) || "{}");
    state.conversations = Array.isArray(saved.conversations) ? saved.conversations : [];
    state.currentId = saved.currentId || null;
  } catch (e) {
    state.conversations = [];
  }
  if (!currentConversation()) startConversation();
}

function saveConversations() {
  const data = JSON.stringify({ conversations: state.conversations, currentId: state.currentId });
  try {
    localStorage.setItem(STORE_KEY, data);
  } catch (e) {
    // Storage full: drop the oldest other conversations until it fits (never the open one).
    for (;;) {
      const oldest = state.conversations.findIndex((c) => c.id !== state.currentId);
      if (oldest < 0) return;
      state.conversations.splice(oldest, 1);
      try {
        localStorage.setItem(STORE_KEY, JSON.stringify({ conversations: state.conversations, currentId: state.currentId }));
        return;
      } catch (again) {
        continue;
      }
    }
  }
}

function currentConversation() {
  return state.conversations.find((c) => c.id === state.currentId) || null;
}

function startConversation() {
  const conversation = { id: newId(), title: "新对话", created: Date.now(), turns: [] };
  state.conversations.push(conversation);
  state.currentId = conversation.id;
  saveConversations();
  return conversation;
}

// ---------- conversation list ----------

function renderConversationList() {
  const list = $("#conversations");
  list.innerHTML = "";
  for (const conversation of [...state.conversations].reverse()) {
    const item = document.createElement("li");
    item.className = conversation.id === state.currentId ? "current" : "";
    const open = document.createElement("button");
    open.className = "open";
    open.textContent = conversation.title;
    open.title = conversation.title;
    open.addEventListener("click", () => {
      state.currentId = conversation.id;
      saveConversations();
      renderAll();
      document.body.classList.remove("sidebar-open");
    });
    const remove = document.createElement("button");
    remove.className = "icon-button remove";
    remove.textContent = "✕";
    remove.setAttribute("aria-label", `删除对话：${conversation.title}`);
    remove.addEventListener("click", () => {
      state.conversations = state.conversations.filter((c) => c.id !== conversation.id);
      if (state.currentId === conversation.id) {
        state.currentId = state.conversations.length ? state.conversations[state.conversations.length - 1].id : null;
      }
      if (!currentConversation()) startConversation();
      saveConversations();
      renderAll();
    });
    item.append(open, remove);
    list.append(item);
  }
}

function renderAll() {
  renderConversationList();
  const conversation = currentConversation();
  $("#chat-title").textContent = conversation.title;
  const messages = $("#messages");
  messages.querySelectorAll(".turn").forEach((node) => node.remove());
  $("#welcome").hidden = conversation.turns.length > 0;
  for (const turn of conversation.turns) {
    const view = turnView(turn.question);
    if (turn.record) showAnswer(view, turn.record);
    else if (turn.error) showError(view, turn.error);
    messages.append(view.root);
  }
  for (const id of ["#download-md", "#download-docx"]) $(id).disabled = !conversation.turns.some((t) => t.record);
  closeSource();
  messages.scrollTop = messages.scrollHeight;
}

// ---------- asking ----------

function historyFor(conversation) {
  const turns = conversation.turns.filter((t) => t.record && !t.record.refused).slice(-HISTORY_TURNS);
  return turns.flatMap((t) => [
    { role: "user", content: t.question },
    { role: "assistant", content: t.record.answer },
  ]);
}

function requestBody(question, conversation) {
  const body = { question, history: historyFor(conversation), stream: true };
  const k = parseInt($("#k").value, 10);
  if (k >= 1 && k <= Number($("#k").max || k)) body.k = k;
  const answerer = $("#answerer").value;
  if (answerer) body.answerer = answerer;
  const docs = [...document.querySelectorAll("#doc-filter input:checked")].map((input) => input.value);
  if (docs.length) body.docs = docs;
  return body;
}

// Server-Sent Events from a POST response: yields {event, data}.
async function* sseEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, "");
      let event = "message";
      const data = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
    }
  }
}

async function ask(question) {
  question = question.trim();
  if (!question || state.busy) return;
  const conversation = currentConversation();
  const turn = { question, record: null, error: null };
  const body = requestBody(question, conversation);
  conversation.turns.push(turn);
  if (conversation.turns.length === 1) conversation.title = question.length > 24 ? question.slice(0, 24) + "…" : question;
  renderConversationList();
  $("#chat-title").textContent = conversation.title;
  $("#welcome").hidden = true;

  const view = turnView(question);
  view.answer.classList.add("streaming");
  $("#messages").append(view.root);
  view.root.scrollIntoView({ block: "end" });
  setBusy(true);
  try {
    const response = await fetchWithKey("/api/ask", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify(body),
    });
    if (!response.ok) {
      let message = `请求失败（HTTP ${response.status}）`;
      try {
        message = (await response.json()).error.message;
      } catch (e) {
        /* keep the generic message */
      }
      throw new Error(message);
    }
    for await (const { event, data } of sseEvents(response)) {
      if (event === "passages") view.passages = data.passages;
      else if (event === "token") appendToken(view, data.text);
      else if (event === "done") {
        turn.record = data;
        showAnswer(view, data);
        followNewestAnswer(view);
      } else if (event === "error") throw new Error(data.error.message);
    }
    if (!turn.record) throw new Error("回答意外中断，请重试");
  } catch (e) {
    turn.error = e.message || String(e);
    showError(view, turn.error);
  } finally {
    setBusy(false);
    saveConversations();
    for (const id of ["#download-md", "#download-docx"]) $(id).disabled = !conversation.turns.some((t) => t.record);
  }
}

function setBusy(busy) {
  state.busy = busy;
  $("#send").disabled = busy;
  $("#send").textContent = busy ? "回答中…" : "发送";
}

function showTab(name) {
  for (const tab of ["ask", "docs", "eval"]) {
    $(`#view-${tab}`).hidden = tab !== name;
    $(`#tab-${tab}`).setAttribute("aria-selected", String(tab === name));
  }
  if (name === "docs") refreshDocuments();
  if (name === "eval") refreshEval(); // eval.js
}

// ---------- wiring ----------

function init() {
  loadConversations();
  renderAll();
  refreshStatus();
  refreshDocuments();

  $("#ask-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const question = $("#question").value;
    if (!question.trim()) return;
    $("#question").value = "";
    ask(question);
  });
  $("#question").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("#ask-form").requestSubmit();
    }
  });
  document.querySelectorAll(".example").forEach((button) =>
    button.addEventListener("click", () => {
      $("#question").value = button.textContent;
      $("#ask-form").requestSubmit();
    }),
  );
  const messages = $("#messages");
  for (const type of ["mouseover", "mouseout", "focusin", "focusout", "click", "keydown"]) {
    messages.addEventListener(type, onCitationEvent);
  }
  $("#source-close").addEventListener("click", closeSource);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      hideHovercard();
      closeSource();
    }
  });
  $("#new-chat").addEventListener("click", () => {
    startConversation();
    renderAll();
    $("#question").focus();
  });
  $("#download-md").addEventListener("click", () => downloadConversation("markdown").catch((e) => alert(`导出失败：${e.message}`)));
  $("#download-docx").addEventListener("click", () => downloadConversation("docx").catch((e) => alert(`导出失败：${e.message}`)));
  $("#toggle-sidebar").addEventListener("click", () => document.body.classList.toggle("sidebar-open"));
  $("#tab-ask").addEventListener("click", () => showTab("ask"));
  $("#tab-docs").addEventListener("click", () => showTab("docs"));
  $("#tab-eval").addEventListener("click", () => showTab("eval"));
  $("#upload-button").addEventListener("click", uploadSelected);
  $("#upload-input").addEventListener("change", () => {
    const names = [...$("#upload-input").files].map((f) => f.name);
    $("#upload-chosen").textContent = names.length ? names.join("、") : "未选择文件";
  });
  $("#rebuild-button").addEventListener("click", rebuild);
  $("#question").focus();
}

document.addEventListener("DOMContentLoaded", init);
