// briefing-rag web page: service status, and the 简报管理 tab: upload, describe, delete, rebuild.
"use strict";

// ---------- settings, status and documents ----------

/** The file picker and its hint list the formats the server reads (from /api/health). */
function showFormats(formats) {
  const labels = Object.entries(formats).map(([label, suffixes]) => `${label}（${suffixes.join(" ")}）`);
  $("#upload-formats").textContent = `支持 ${labels.join("、")}`;
  $("#upload-input").accept = Object.values(formats).flat().join(",");
}

async function refreshStatus() {
  try {
    const health = await apiJson("/api/health");
    $("#status").textContent = `索引 ${health.index}：${health.documents} 篇简报 · ${health.chunks} 个分块 · ${health.embedder}`;
    const select = $("#answerer");
    const chosen = select.value;
    select.innerHTML = "";
    for (const name of health.answerers) {
      const option = document.createElement("option");
      option.value = name === health.answerer ? "" : name;
      option.textContent = name === "extractive" ? "离线抽取式（extractive）" : name;
      if (name === health.answerer) option.textContent += "（默认）";
      select.append(option);
    }
    if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
    showFormats(health.formats);
    $("#k").max = health.limits.answer_passages; // the limits are defined once, on the server
    $("#question").maxLength = health.limits.question_chars;
  } catch (e) {
    $("#status").textContent = `服务不可用：${e.message}`;
  }
}

async function refreshDocuments() {
  try {
    state.documents = await apiJson("/api/documents");
  } catch (e) {
    state.documents = [];
  }
  const filter = $("#doc-filter");
  const checked = new Set([...filter.querySelectorAll("input:checked")].map((i) => i.value));
  filter.querySelectorAll("label").forEach((node) => node.remove());
  for (const doc of state.documents) {
    const label = document.createElement("label");
    label.innerHTML = `<input type="checkbox" value="${escapeHtml(doc.doc)}"${checked.has(doc.doc) ? " checked" : ""}> ${escapeHtml(doc.title)}`;
    filter.append(label);
  }
  const body = $("#docs-table tbody");
  body.innerHTML = "";
  for (const doc of state.documents) {
    const row = document.createElement("tr");
    row.innerHTML =
      `<td>${escapeHtml(doc.title)}</td><td>${escapeHtml(doc.publisher)}</td><td>${escapeHtml(doc.date)}</td>` +
      `<td class="num">${doc.chunks}</td><td>${escapeHtml(doc.doc)}</td><td></td>`;
    const editButton = document.createElement("button");
    editButton.className = "secondary";
    editButton.textContent = "编辑";
    editButton.setAttribute("aria-label", `编辑简报信息：${doc.title}`);
    editButton.addEventListener("click", () => editDocument(doc, row));
    row.lastElementChild.append(editButton, " ");
    const remove = document.createElement("button");
    remove.className = "secondary delete";
    remove.textContent = "删除";
    remove.setAttribute("aria-label", `删除简报：${doc.title}`);
    remove.addEventListener("click", () => deleteDocument(doc, remove));
    row.lastElementChild.append(remove);
    body.append(row);
  }
}

/** An inline form over the row: title, publisher and date, saved with PATCH /api/documents/{doc}. */
function editDocument(doc, row) {
  const cell = document.createElement("td");
  cell.colSpan = row.children.length;
  cell.innerHTML =
    `<form class="meta-edit"><label>标题 <input name="title" maxlength="200" placeholder="留空则用文件中的标题"></label>` +
    `<label>发布单位 <input name="publisher" maxlength="200"></label>` +
    `<label>日期 <input name="date" maxlength="10" placeholder="YYYY-MM-DD"></label>` +
    `<button class="primary" type="submit">保存</button><button class="secondary" type="button">取消</button>` +
    `<span class="hint" aria-live="polite"></span></form>`;
  const form = cell.querySelector("form");
  for (const key of ["title", "publisher", "date"]) form.elements[key].value = doc[key] || "";
  row.replaceChildren(cell);
  form.elements.title.focus();
  form.querySelector("button[type=button]").addEventListener("click", () => refreshDocuments());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const changed = {};
    for (const key of ["title", "publisher", "date"]) {
      const value = form.elements[key].value.trim();
      if (value !== (doc[key] || "")) changed[key] = value;
    }
    if (!Object.keys(changed).length) return refreshDocuments();
    const note = form.querySelector(".hint");
    note.textContent = "保存中，正在更新索引……";
    try {
      await apiJson(`/api/documents/${encodeURIComponent(doc.doc)}`, {
        method: "PATCH",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(changed),
      });
      $("#rebuild-status").textContent = `已更新：${changed.title || doc.title}`;
      await Promise.all([refreshDocuments(), refreshStatus()]);
    } catch (e) {
      note.textContent = `保存失败：${e.message}`;
    }
  });
}

async function deleteDocument(doc, button) {
  if (!button.classList.contains("confirm")) {
    button.classList.add("confirm");
    button.textContent = "确认删除？";
    button.setAttribute("aria-label", `确认删除简报：${doc.title}？`);
    setTimeout(() => {
      button.classList.remove("confirm");
      button.textContent = "删除";
      button.setAttribute("aria-label", `删除简报：${doc.title}`);
    }, 4000);
    return;
  }
  button.disabled = true;
  button.textContent = "删除中…";
  try {
    await apiJson(`/api/documents/${encodeURIComponent(doc.doc)}`, { method: "DELETE" });
    $("#rebuild-status").textContent = `已删除：${doc.title}`;
  } catch (e) {
    $("#rebuild-status").textContent = `删除失败：${e.message}`;
  }
  await Promise.all([refreshDocuments(), refreshStatus()]);
}

function uploadOne(file, replace, meta) {
  const item = document.createElement("li");
  item.innerHTML = `<span class="file-name"></span><progress max="1" value="0"></progress><span class="file-status">上传中…</span>`;
  item.querySelector(".file-name").textContent = file.name;
  $("#upload-list").append(item);
  const bar = item.querySelector("progress");
  const status = item.querySelector(".file-status");
  return new Promise((resolve) => {
    const request = new XMLHttpRequest();
    request.open("POST", `/api/documents${replace ? "?replace=true" : ""}`);
    for (const [name, value] of Object.entries(withKey())) request.setRequestHeader(name, value);
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) bar.value = event.loaded / event.total;
      if (event.loaded === event.total) status.textContent = "正在解析并生成向量……";
    });
    request.addEventListener("load", () => {
      let data = null;
      try {
        data = JSON.parse(request.responseText);
      } catch (e) {
        data = null;
      }
      bar.value = 1;
      if (request.status === 200 && data) {
        const failed = data.failed && data.failed[file.name];
        status.className = failed ? "file-status failed" : "file-status done";
        status.textContent = failed ? failed : `已加入索引（共 ${data.documents} 篇简报，本次嵌入 ${data.embedded_chunks} 个分块）`;
      } else {
        status.className = "file-status failed";
        status.textContent = data && data.error ? data.error.message : `上传失败（HTTP ${request.status}）`;
      }
      resolve();
    });
    request.addEventListener("error", () => {
      status.className = "file-status failed";
      status.textContent = "上传失败：无法连接服务";
      resolve();
    });
    const form = new FormData();
    form.append("files", file, file.name);
    for (const [key, value] of Object.entries(meta)) form.append(key, value);
    request.send(form);
  });
}

async function uploadSelected() {
  const input = $("#upload-input");
  const files = [...input.files];
  if (!files.length) return;
  const replace = $("#replace").checked;
  const meta = {};
  for (const key of ["title", "publisher", "date"]) {
    const value = $(`#upload-${key}`).value.trim();
    if (value) meta[key] = value;
  }
  if (meta.title && files.length > 1) {
    $("#upload-chosen").textContent = "标题只能为单个文件填写：请只选一个文件，或清空标题";
    return;
  }
  $("#upload-button").disabled = true;
  for (const file of files) await uploadOne(file, replace, meta); // one at a time: the index has one writer
  for (const key of ["title", "publisher", "date"]) $(`#upload-${key}`).value = "";
  input.value = "";
  $("#upload-chosen").textContent = "未选择文件";
  $("#upload-button").disabled = false;
  await Promise.all([refreshDocuments(), refreshStatus()]);
}

async function rebuild() {
  const status = $("#rebuild-status");
  const bar = $("#rebuild-progress");
  $("#rebuild-button").disabled = true;
  try {
    let job = await apiJson("/api/index/rebuild", { method: "POST" });
    bar.hidden = false;
    while (job.state === "running") {
      const stage = { embed: "生成向量", sentences: "生成句向量", pages: "读取 PDF 页面" }[job.stage] || "解析简报";
      bar.value = job.total ? job.done / job.total : 0;
      status.textContent = job.total ? `重建中：${stage} ${job.done}/${job.total}` : "重建中……";
      await new Promise((r) => setTimeout(r, 500));
      job = await apiJson("/api/index/rebuild");
    }
    bar.value = 1;
    status.textContent =
      job.state === "done"
        ? `重建完成：${job.report.documents} 篇简报，${job.report.chunks} 个分块`
        : `重建失败：${job.error ? job.error.message : "未知原因"}`;
  } catch (e) {
    status.textContent = `重建失败：${e.message}`;
  } finally {
    $("#rebuild-button").disabled = false;
    await Promise.all([refreshDocuments(), refreshStatus()]);
  }
}
