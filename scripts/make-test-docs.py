#!/usr/bin/env python3
"""Make the PDF and DOCX test documents of crates/docs/tests/fixtures from TRAM reports.

For each of the N shortest TRAM validation reports (public/model/manifest.json,
training.split.validation; text from ../shared/data/tram/reports/*.mjson, field "signal"):

  reports/<slug>.txt   the source text: what the documents hold, as plain text
  reports/<slug>.pdf   laid out as vendors publish (two text columns, a running header,
                       a "Page N of M" footer, headings, a bulleted list, an indicator table
                       with defanged indicators, long words with soft hyphens so some break
                       across lines), printed by headless Chromium
  reports/<slug>.docx  headings, a bulleted list, an indicator table, a page header and a
                       page footer (hand-written WordprocessingML)

and the bad documents of bad/: encrypted.pdf (user password; needs pypdf), image-only.pdf
(a scanned page: an image, no text), truncated.pdf and truncated.docx (cut in half),
not-a-docx.docx (a ZIP without word/document.xml).

Usage: python3 scripts/make-test-docs.py [N]   (default 10; Chromium at /usr/bin/chromium)
       python3 scripts/make-test-docs.py --long OUT.pdf [REPORTS]
           one long PDF of the first REPORTS validation reports (default 8) laid out alike,
           for the parse-time benchmark in docs/benchmarks.md (not a fixture)
Deterministic apart from Chromium's and pypdf's own metadata (dates, IDs).
"""

import html
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPORTS = os.path.join(ROOT, "..", "shared", "data", "tram", "reports")
OUT = os.path.join(ROOT, "crates", "docs", "tests", "fixtures")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
VENDOR = "Acme Threat Intelligence"

INDICATOR = re.compile(
    r"\b(?:[a-f0-9]{64}|[a-f0-9]{40}|[a-f0-9]{32})\b"  # hashes
    r"|\b(?:\d{1,3}\.){3}\d{1,3}\b"  # IPv4
    r"|\b(?:[a-z0-9-]+\.)+(?:com|net|org|info|ru|cn|io|xyz|top)\b",  # domains
    re.I,
)


def slug(name):
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60]


def report_lines(signal):
    """The report's title and its body lines (paragraphs, headings, list items)."""
    lines = [l.strip().replace("\u00a0", " ").strip() for l in signal.split("\n")]
    title = ""
    body = []
    for l in lines:
        if not l:
            continue
        if l.startswith("title:") and not title:
            title = l[len("title:"):].strip()
            continue
        if l.startswith("url:"):
            continue
        body.append(l)
    return title, body


def classify(body):
    """(kind, text) for each body line: heading, item (one run of 3 short lines
    becomes the bulleted list), or paragraph."""
    kinds = []
    for l in body:
        if len(l) < 70 and not l.endswith((".", ":", ";", ",", ")", "\"", "”")) and len(l.split()) <= 9:
            kinds.append("heading")
        else:
            kinds.append("para")
    # The first run of three consecutive paragraph lines of moderate length: a list.
    for i in range(len(body) - 2):
        if all(kinds[j] == "para" and 40 <= len(body[j]) <= 260 for j in range(i, i + 3)):
            for j in range(i, i + 3):
                kinds[j] = "item"
            break
    return list(zip(kinds, body))


def indicators(signal):
    """Up to 8 distinct indicators from the report (defanged), or made-up ones."""
    seen = []
    for m in INDICATOR.finditer(signal):
        v = m.group(0)
        if v.lower() not in [s.lower() for s in seen]:
            seen.append(v)
        if len(seen) == 8:
            break
    rows = []
    for v in seen:
        if re.fullmatch(r"[a-fA-F0-9]{32,64}", v):
            rows.append(("SHA-256" if len(v) == 64 else "SHA-1" if len(v) == 40 else "MD5", v))
        elif re.fullmatch(r"(\d{1,3}\.){3}\d{1,3}", v):
            rows.append(("IPv4", v.replace(".", "[.]", 1)))
        else:
            rows.append(("Domain", v.replace(".", "[.]")))
    rows.append(("URL", "hxxp://update-check[.]example[.]com/gate.php"))
    return rows


def soft_hyphens(text):
    """Soft hyphens in the middle of long words, so some words break across lines."""
    def cut(m):
        w = m.group(0)
        return w[: len(w) // 2] + "\u00ad" + w[len(w) // 2:]
    return re.sub(r"\b[a-z]{11,}\b", cut, text)


def source_text(title, blocks, rows):
    out = [title, ""]
    for kind, text in blocks:
        out.append(("- " + text) if kind == "item" else text)
        out.append("")
    out.append("Indicators of compromise")
    out.append("")
    out.append("Type\tIndicator")
    out.extend(f"{t}\t{v}" for t, v in rows)
    return "\n".join(out) + "\n"


def make_html(title, blocks, rows):
    e = lambda s: html.escape(s, quote=False)
    parts = []
    in_list = False
    for kind, text in blocks:
        if kind == "item" and not in_list:
            parts.append("<ul>")
            in_list = True
        if kind != "item" and in_list:
            parts.append("</ul>")
            in_list = False
        t = e(soft_hyphens(text))
        parts.append({"heading": f"<h2>{t}</h2>", "item": f"<li>{t}</li>", "para": f"<p>{t}</p>"}[kind])
    if in_list:
        parts.append("</ul>")
    table = "".join(f"<tr><td>{e(t)}</td><td>{e(v)}</td></tr>" for t, v in rows)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>
@page {{
  size: Letter; margin: 0.9in 0.75in;
  @top-center {{ content: "{VENDOR} | Threat Report | TLP:CLEAR"; font: 8pt sans-serif; color: #555; }}
  @bottom-center {{ content: "Page " counter(page) " of " counter(pages); font: 8pt sans-serif; color: #555; }}
}}
body {{ font: 10pt/1.35 "DejaVu Serif", serif; overflow-wrap: anywhere; }}
h1 {{ font: bold 20pt sans-serif; margin: 0 0 12pt; }}
.columns {{ column-count: 2; column-gap: 0.4in; }}
h2 {{ font: bold 12pt sans-serif; margin: 10pt 0 4pt; break-after: avoid; }}
p {{ margin: 0 0 7pt; }}
ul {{ margin: 0 0 7pt; padding-left: 16pt; }}
h3 {{ font: bold 12pt sans-serif; margin: 14pt 0 6pt; }}
table {{ border-collapse: collapse; width: 100%; font: 9pt sans-serif; }}
td, th {{ border: 0.5pt solid #999; padding: 3pt 6pt; text-align: left; }}
</style></head><body>
<h1>{e(title)}</h1>
<div class="columns">
{chr(10).join(parts)}
</div>
<h3>Indicators of compromise</h3>
<table><tr><th>Type</th><th>Indicator</th></tr>{table}</table>
</body></html>
"""


def print_pdf(html_text, path):
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "report.html")
        with open(src, "w", encoding="utf-8") as f:
            f.write(html_text)
        profile = os.path.join(tmp, "profile")
        subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--no-pdf-header-footer", f"--print-to-pdf={path}",
             "file://" + src],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120,
        )


W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" ' \
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'


def run(text):
    return f'<w:r><w:t xml:space="preserve">{html.escape(text, quote=False)}</w:t></w:r>'


def para(text, style=None, numbered=False):
    ppr = ""
    if style or numbered:
        ppr = "<w:pPr>"
        if style:
            ppr += f'<w:pStyle w:val="{style}"/>'
        if numbered:
            ppr += '<w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr>'
        ppr += "</w:pPr>"
    return f"<w:p>{ppr}{run(text)}</w:p>"


def make_docx(title, blocks, rows, path):
    body = [para(title, "Title")]
    for kind, text in blocks:
        if kind == "heading":
            body.append(para(text, "Heading2"))
        elif kind == "item":
            body.append(para(text, "ListBullet", numbered=True))
        else:
            body.append(para(text))
    body.append(para("Indicators of compromise", "Heading2"))
    cell = lambda t: f'<w:tc><w:tcPr><w:tcW w:w="4500" w:type="dxa"/></w:tcPr>{para(t)}</w:tc>'
    trs = [f"<w:tr>{cell('Type')}{cell('Indicator')}</w:tr>"] + [f"<w:tr>{cell(t)}{cell(v)}</w:tr>" for t, v in rows]
    body.append('<w:tbl><w:tblPr><w:tblW w:w="9000" w:type="dxa"/><w:tblBorders>'
                '<w:top w:val="single" w:sz="4"/><w:bottom w:val="single" w:sz="4"/>'
                '<w:insideH w:val="single" w:sz="4"/><w:insideV w:val="single" w:sz="4"/>'
                '</w:tblBorders></w:tblPr><w:tblGrid><w:gridCol w:w="4500"/><w:gridCol w:w="4500"/></w:tblGrid>'
                + "".join(trs) + "</w:tbl>")
    sect = ('<w:sectPr><w:headerReference w:type="default" r:id="rIdHeader"/>'
            '<w:footerReference w:type="default" r:id="rIdFooter"/>'
            '<w:pgSz w:w="12240" w:h="15840"/><w:pgMar w:top="1440" w:right="1440" w:bottom="1440" '
            'w:left="1440" w:header="720" w:footer="720" w:gutter="0"/></w:sectPr>')
    document = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document {W}><w:body>{"".join(body)}{sect}</w:body></w:document>'
    header = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:hdr {W}>{para(VENDOR + " | Threat Report | TLP:CLEAR")}</w:hdr>'
    footer = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:ftr {W}><w:p>{run("Page ")}'
              '<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> PAGE </w:instrText></w:r>'
              '<w:r><w:fldChar w:fldCharType="separate"/></w:r>' + run("1") + '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
              '</w:p></w:ftr>')
    style = lambda sid, name, extra="": (f'<w:style w:type="paragraph" w:styleId="{sid}"><w:name w:val="{name}"/>'
                                          f'<w:basedOn w:val="Normal"/>{extra}</w:style>')
    styles = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:styles {W}>'
              '<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style>'
              + style("Title", "Title", '<w:rPr><w:b/><w:sz w:val="40"/></w:rPr>')
              + style("Heading2", "heading 2", '<w:pPr><w:outlineLvl w:val="1"/></w:pPr><w:rPr><w:b/><w:sz w:val="26"/></w:rPr>')
              + style("ListBullet", "List Bullet")
              + "</w:styles>")
    numbering = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:numbering {W}>'
                 '<w:abstractNum w:abstractNumId="0"><w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="bullet"/>'
                 '<w:lvlText w:val="\u2022"/><w:pPr><w:ind w:left="720" w:hanging="360"/></w:pPr></w:lvl></w:abstractNum>'
                 '<w:num w:numId="1"><w:abstractNumId w:val="0"/></w:num></w:numbering>')
    ct = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
          '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          '<Default Extension="xml" ContentType="application/xml"/>'
          '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
          '<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>'
          '<Override PartName="/word/numbering.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.numbering+xml"/>'
          '<Override PartName="/word/header1.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml"/>'
          '<Override PartName="/word/footer1.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml"/>'
          '</Types>')
    rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
            '</Relationships>')
    doc_rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                '<Relationship Id="rIdStyles" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
                '<Relationship Id="rIdNumbering" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/numbering" Target="numbering.xml"/>'
                '<Relationship Id="rIdHeader" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/header" Target="header1.xml"/>'
                '<Relationship Id="rIdFooter" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer" Target="footer1.xml"/>'
                '</Relationships>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in [("[Content_Types].xml", ct), ("_rels/.rels", rels), ("word/document.xml", document),
                           ("word/_rels/document.xml.rels", doc_rels), ("word/styles.xml", styles),
                           ("word/numbering.xml", numbering), ("word/header1.xml", header),
                           ("word/footer1.xml", footer)]:
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data.encode("utf-8"))


def image_only_pdf(path):
    """One page showing a grey 64x64 image, as a scanner makes: no text at all."""
    w = h = 64
    pixels = bytes((x * 4 + y * 2) % 256 for y in range(h) for x in range(w))
    img = zlib.compress(pixels)
    content = b"q 468 0 0 648 72 72 cm /Im0 Do Q"
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /XObject /Subtype /Image /Width 64 /Height 64 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode /Length %d >>\nstream\n" % len(img) + img + b"\nendstream",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for o in offsets:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    with open(path, "wb") as f:
        f.write(out)


def encrypted_pdf(src, path):
    from pypdf import PdfReader, PdfWriter  # pip install pypdf
    writer = PdfWriter()
    for page in PdfReader(src).pages:
        writer.add_page(page)
    writer.encrypt(user_password="secret", owner_password="owner-secret", algorithm="RC4-128")
    with open(path, "wb") as f:
        writer.write(f)


def main():
    manifest = json.load(open(os.path.join(ROOT, "public", "model", "manifest.json")))
    names = manifest["training"]["split"]["validation"]
    signals = {n: json.load(open(os.path.join(REPORTS, n + ".mjson")))["signal"] for n in names}
    if len(sys.argv) > 2 and sys.argv[1] == "--long":
        blocks, rows = [], []
        for n in names[: int(sys.argv[3]) if len(sys.argv) > 3 else 8]:
            title, body = report_lines(signals[n])
            blocks += [("heading", title)] + classify(body)
            rows += indicators(signals[n])
        print_pdf(make_html("Collected threat reports", blocks, rows), sys.argv[2])
        return
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    chosen = sorted(names, key=lambda n: (len(signals[n]), n))[:count]
    os.makedirs(os.path.join(OUT, "reports"), exist_ok=True)
    os.makedirs(os.path.join(OUT, "bad"), exist_ok=True)
    for n in chosen:
        title, body = report_lines(signals[n])
        title = title or n
        blocks = classify(body)
        rows = indicators(signals[n])
        base = os.path.join(OUT, "reports", slug(n))
        with open(base + ".txt", "w", encoding="utf-8") as f:
            f.write(source_text(title, blocks, rows))
        print_pdf(make_html(title, blocks, rows), base + ".pdf")
        make_docx(title, blocks, rows, base + ".docx")
        print(f"{slug(n)}: {len(signals[n])} chars", file=sys.stderr)
    first = os.path.join(OUT, "reports", slug(chosen[0]))
    bad = os.path.join(OUT, "bad")
    image_only_pdf(os.path.join(bad, "image-only.pdf"))
    for ext in ("pdf", "docx"):
        data = open(f"{first}.{ext}", "rb").read()
        with open(os.path.join(bad, f"truncated.{ext}"), "wb") as f:
            f.write(data[: len(data) // 2])
    with zipfile.ZipFile(os.path.join(bad, "not-a-docx.docx"), "w") as z:
        z.writestr(zipfile.ZipInfo("xl/workbook.xml", date_time=(2026, 1, 1, 0, 0, 0)), "<workbook/>")
    try:
        encrypted_pdf(first + ".pdf", os.path.join(bad, "encrypted.pdf"))
    except ImportError:
        print("pypdf is not installed: bad/encrypted.pdf not made (pip install pypdf)", file=sys.stderr)


if __name__ == "__main__":
    main()
