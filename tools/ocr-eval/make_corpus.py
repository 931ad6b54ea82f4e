#!/usr/bin/python3
"""Generate the synthetic OCR evaluation corpus (camera-style photos of petition pages).

Every page is invented and marked 样本 SPECIMEN: letters, complaint forms with
table lines, court judgments and notices (some with red seals) and receipts.
Each is rendered at 300 dpi with Debian's Noto CJK fonts and "photographed"
onto a desk: rotation, keystone, uneven light, edge shadows, blur, sensor
noise and JPEG compression, at 1920x1080, 2592x1944 or 3264x2448. Pages 001
to 013 are the first corpus and keep their bytes; pages 014 on add easy,
typical and hard pages: turned 90/180/270 degrees, 720p and 1080p frames,
a tilted camera (keystone), glare and shadows, folds, photocopies, Kaiti
handwriting (fonts-arphic-gkai00mp, fonts-arphic-ukai), small print, seals
over the text, motion blur, and fields printed as 二〇二四年五月九日, spaced or
broken ID numbers and phones with separators. `corpus/index.tsv` lists each
page's tier and conditions, derived from the parameters used for it.

For each photo `corpus/NNN-kind.jpg` it writes the ground truth
`corpus/NNN-kind.txt` (the printed text, one line per printed line, without
the specimen mark) and `corpus/NNN-kind.fields` (one `name<TAB>value` a line:
kind, id, phone, date as YYYY-MM-DD, amount in yuan, name).

Deterministic (fixed seeds). Needs Debian's python3-pil, fonts-noto-cjk,
fonts-arphic-gkai00mp and fonts-arphic-ukai (CORPUS_OUT=DIR writes elsewhere):

    /usr/bin/python3 tools/ocr-eval/make_corpus.py
"""

import math
import os
import random

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.environ.get("CORPUS_OUT", os.path.join(HERE, "corpus"))
SANS = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
SANS_BOLD = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"
SERIF = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"
SERIF_BOLD = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc"
PAGE_W, PAGE_H = 2480, 3508  # A4 at 300 dpi
MARGIN = 250
PAPER = (247, 245, 240)
INK = (18, 18, 20)
SEAL = (205, 38, 40)

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "建国丽华志强秀英明军海燕晓东玉兰春梅德明红霞国庆文静"
PLACES = ["东城区和平路", "西湖区文三路", "新华区建设街", "开发区长江路", "高新区科技大道", "城关镇人民路"]
CITIES = ["某省某市", "某省某县", "某市"]


def id_number(rng):
    """A syntactically valid resident ID number (GB 11643 check digit)."""
    area = "%06d" % rng.choice([110101, 310104, 440305, 510107, 330106, 420102])
    birth = "%04d%02d%02d" % (rng.randint(1950, 2000), rng.randint(1, 12), rng.randint(1, 28))
    seq = "%03d" % rng.randint(0, 999)
    body = area + birth + seq
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    s = sum(int(c) * w for c, w in zip(body, weights))
    return body + "10X98765432"[s % 11]


def phone(rng):
    return rng.choice(["138", "139", "150", "186", "177"]) + "%08d" % rng.randint(0, 99999999)


def name(rng):
    return rng.choice(SURNAMES) + rng.choice(GIVEN[::2]) + rng.choice(GIVEN[1::2])


def address(rng):
    return "%s%s%d号%d单元%d室" % (rng.choice(CITIES), rng.choice(PLACES), rng.randint(1, 300), rng.randint(1, 6), rng.randint(101, 1802))


def date(rng):
    return rng.randint(2021, 2025), rng.randint(1, 12), rng.randint(1, 28)


DIGITS = "零一二三四五六七八九"


def cn_amount(n):
    """Chinese numerals for 1..99999999 (一万二千五百)."""
    def below_10k(v):
        out, zero = "", False
        for unit, div in (("千", 1000), ("百", 100), ("十", 10), ("", 1)):
            d = v // div % 10
            if d:
                if zero and out:
                    out += "零"
                out += DIGITS[d] + unit
                zero = False
            else:
                zero = True
        return out
    hi, lo = divmod(n, 10000)
    s = ""
    if hi:
        s = below_10k(hi) + "万"
        if lo and lo < 1000:
            s += "零"
    s += below_10k(lo)
    return s


def fmt_amount(n):
    return "{:,}".format(n)


def letter(rng):
    who = name(rng)
    idn, tel, addr = id_number(rng), phone(rng), address(rng)
    y, m, d = date(rng)
    amount = rng.choice([12500, 86000, 3400, 158000, 27300])
    topic = rng.choice(["拖欠工资", "物业维修", "征地补偿", "房屋质量"])
    lines = [
        ("title", "关于%s问题的反映" % topic),
        ("body", "尊敬的信访接待同志："),
        ("para", "我叫%s，身份证号%s，住%s。" % (who, idn, addr)),
        ("para", "%d年%d月以来，我多次向有关单位反映%s问题，涉及金额共计%s元，至今没有得到解决，生活十分困难。" % (y - 1, m, topic, fmt_amount(amount))),
        ("para", "恳请有关部门核实情况，依法处理，督促责任单位尽快解决。"),
        ("body", "反映人：%s" % who),
        ("body", "联系电话：%s" % tel),
        ("right", "%d年%d月%d日" % (y, m, d)),
    ]
    fields = [("kind", "letter"), ("id", idn), ("phone", tel), ("date", "%04d-%02d-%02d" % (y, m, d)), ("amount", str(amount)), ("name", who)]
    return lines, fields, SANS, SANS_BOLD


FILLER = [
    "事情的经过是这样的：我所在的单位自去年起以经营困难为由，多次推迟发放工资，后来干脆停发，只给职工打了欠条。",
    "我们先后找过单位负责人、劳动监察部门和街道办事处，每次都说正在协调，但一直没有结果，也没有书面答复。",
    "单位的厂房和设备已经陆续转让，负责人很少露面，我们担心再拖下去欠款就无处追讨了。",
    "我家里上有老人下有孩子，爱人身体不好需要长期吃药，全家的生活都靠我这份工资，现在只能向亲戚借钱度日。",
    "我们请求有关部门依法调查单位的资产去向，督促单位制定还款计划，按时足额支付拖欠的工资和经济补偿。",
    "如果单位确实无力支付，也恳请政府帮助我们通过法律途径维护自己的合法权益，我们愿意积极配合调查。",
]


def full_letter(rng):
    """A letter that fills the whole page, for the OCR speed figure."""
    lines, fields, font, bold = letter(rng)
    body = [("para", p) for p in FILLER + FILLER[:4]]
    return lines[:4] + body + lines[4:], fields, font, bold


def form(rng):
    who = name(rng)
    idn, tel, addr = id_number(rng), phone(rng), address(rng)
    y, m, d = date(rng)
    amount = rng.choice([12500, 45000, 6800])
    rows = [
        ["信访人", who, "性别", rng.choice(["男", "女"])],
        ["身份证号码", idn],
        ["联系电话", tel],
        ["住址", addr],
        ["信访事项", "单位拖欠工资%s元未支付，请求督促支付。" % cn_amount(amount)],
        ["登记日期", "%04d-%02d-%02d" % (y, m, d)],
    ]
    fields = [("kind", "form"), ("id", idn), ("phone", tel), ("date", "%04d-%02d-%02d" % (y, m, d)), ("amount", str(amount)), ("name", who)]
    return [("title", "信访事项登记表"), ("table", rows)], fields, SANS, SANS_BOLD


def judgment(rng):
    who, other = name(rng), name(rng)
    idn = id_number(rng)
    y, m, d = date(rng)
    amount = rng.choice([12500, 36800, 5200])
    lines = [
        ("center", "某某市某某区人民法院"),
        ("title", "民事判决书"),
        ("right", "（%d）某0102民初%d号" % (y, rng.randint(100, 9999))),
        ("para", "原告：%s，公民身份号码%s。" % (who, idn)),
        ("para", "被告：某某建筑劳务有限公司，住所地某市开发区长江路%d号。" % rng.randint(1, 300)),
        ("para", "原告%s与被告劳动报酬纠纷一案，本院立案后依法适用简易程序公开开庭进行了审理。" % who),
        ("para", "判决如下：被告于本判决生效之日起十日内支付原告工资%s元。" % fmt_amount(amount)),
        ("para", "案件受理费减半收取，由被告负担。"),
        ("right", "%d年%d月%d日" % (y, m, d)),
    ]
    fields = [("kind", "judgment"), ("id", idn), ("date", "%04d-%02d-%02d" % (y, m, d)), ("amount", str(amount))]
    return lines, fields, SERIF, SERIF_BOLD


def notice(rng):
    y, m, d = date(rng)
    tel = "0571-8%07d" % rng.randint(0, 9999999)
    lines = [
        ("title", "关于信访事项办理情况的通知"),
        ("body", "各位来访群众："),
        ("para", "为进一步做好信访工作，现将有关事项通知如下。自%d年%d月%d日起，接待时间调整为每周一至周五上午九时至十二时。" % (y, m, d)),
        ("para", "来访群众请携带本人身份证件，按顺序登记。咨询电话：%s。" % tel),
        ("para", "特此通知。"),
        ("right", "某某县信访局"),
        ("right", "%d年%d月%d日" % (y, m, d)),
    ]
    fields = [("kind", "notice"), ("phone", tel.replace("-", "")), ("date", "%04d-%02d-%02d" % (y, m, d))]
    return lines, fields, SERIF, SERIF_BOLD


def receipt(rng):
    who = name(rng)
    y, m, d = date(rng)
    amount = rng.choice([3000, 12500, 800])
    lines = [
        ("title", "收据"),
        ("right", "%d.%d.%d" % (y, m, d)),
        ("para", "今收到%s交来押金人民币%s元整。" % (who, cn_amount(amount))),
        ("body", "小写：%s元" % fmt_amount(amount)),
        ("body", "收款单位：某某物业服务有限公司"),
    ]
    fields = [("kind", "receipt"), ("date", "%04d-%02d-%02d" % (y, m, d)), ("amount", str(amount))]
    return lines, fields, SANS, SANS_BOLD


def wrap(draw, text, font, width):
    lines, line = [], ""
    for ch in text:
        if draw.textlength(line + ch, font=font) > width and line:
            lines.append(line)
            line = ch
        else:
            line += ch
    if line:
        lines.append(line)
    return lines


def render(lines, font_path, bold_path, body_px, seal, style=None):
    """The page at 300 dpi and its truth, one printed line a line.

    `style` (new pages only): `hand` (a random.Random: each character jittered
    as if written by hand, in pen ink), `seal_over` (the seal stamped over the
    body text instead of below it)."""
    style = style or {}
    hand = style.get("hand")
    page = Image.new("RGB", (PAGE_W, PAGE_H), PAPER)
    draw = ImageDraw.Draw(page)
    body = ImageFont.truetype(font_path, body_px)
    title = ImageFont.truetype(bold_path, int(body_px * 1.7))
    width = PAGE_W - 2 * MARGIN
    if hand:
        width = int(width * 0.9)  # jittered characters run wider

    def put(xy, text, font):
        if hand:
            hand_text(page, xy, text, font, hand)
        else:
            draw.text(xy, text, font=font, fill=INK)

    top = MARGIN + 60
    step = int(body_px * 1.75)
    truth = []
    y = MARGIN + 60
    for kind, content in lines:
        if kind == "title" or kind == "center":
            font = title if kind == "title" else body
            tw = draw.textlength(content, font=font)
            put(((PAGE_W - tw) / 2, y), content, font)
            truth.append(content)
            y += int(font.size * 1.9)
        elif kind == "right":
            tw = draw.textlength(content, font=body)
            put((PAGE_W - MARGIN - tw, y), content, body)
            truth.append(content)
            y += step
        elif kind == "table":
            y = table(draw, content, body, y, truth)
        elif kind == "split":
            # A paragraph whose wrapping breaks a number (content[1:]) across two lines.
            text, start, end = content
            for ln in wrap_inside(draw, "　　" + text, body, width, start + 2, end + 2):
                put((MARGIN, y), ln, body)
                truth.append(ln.strip("　"))
                y += step
        else:
            indent = "　　" if kind == "para" else ""
            for ln in wrap(draw, indent + content, body, width):
                put((MARGIN, y), ln, body)
                truth.append(ln.strip("　"))
                y += step
    mark = ImageFont.truetype(SANS_BOLD, 54)
    label = "样本 SPECIMEN"
    lw = draw.textlength(label, font=mark)
    draw.text((PAGE_W - lw - 120, 110), label, font=mark, fill=(150, 150, 150))
    if seal and style.get("seal_over"):
        page = stamp(page, (PAGE_W // 2 + 200, (top + y) // 2))
    elif seal:
        page = stamp(page, (PAGE_W - MARGIN - 380, y - 260))
    return page, truth


def table(draw, rows, font, y, truth):
    x0, x1 = MARGIN, PAGE_W - MARGIN
    label_w = 460
    row_h = int(font.size * 2.6)
    for row in rows:
        cells = list(row)
        lines = wrap(draw, cells[1], font, x1 - x0 - label_w - 60) if len(cells) == 2 else [cells[1]]
        h = max(row_h, len(lines) * int(font.size * 1.6) + 50)
        draw.rectangle([x0, y, x1, y + h], outline=INK, width=4)
        draw.line([x0 + label_w, y, x0 + label_w, y + h], fill=INK, width=4)
        draw.text((x0 + 30, y + 25), cells[0], font=font, fill=INK)
        truth.append(cells[0])
        if len(cells) == 4:
            mid = x0 + label_w + (x1 - x0 - label_w) * 3 // 5
            draw.line([mid, y, mid, y + h], fill=INK, width=4)
            draw.line([mid + 220, y, mid + 220, y + h], fill=INK, width=4)
            draw.text((x0 + label_w + 30, y + 25), cells[1], font=font, fill=INK)
            draw.text((mid + 30, y + 25), cells[2], font=font, fill=INK)
            draw.text((mid + 250, y + 25), cells[3], font=font, fill=INK)
            truth.extend(cells[1:])
        else:
            for i, ln in enumerate(lines):
                draw.text((x0 + label_w + 30, y + 25 + i * int(font.size * 1.6)), ln, font=font, fill=INK)
                truth.append(ln)
        y += h
    return y + 60


def stamp(page, center):
    """A round red seal with a star and an arc of text, printed over the page."""
    r = 300
    seal = Image.new("L", (2 * r + 20, 2 * r + 20), 0)
    d = ImageDraw.Draw(seal)
    d.ellipse([10, 10, 2 * r + 10, 2 * r + 10], outline=255, width=22)
    c = r + 10
    star = [(c + 90 * math.cos(math.radians(-90 + 144 * i)), c + 90 * math.sin(math.radians(-90 + 144 * i))) for i in range(5)]
    d.polygon(star, fill=255)
    font = ImageFont.truetype(SANS_BOLD, 70)
    text = "某某人民法院专用章"
    for i, ch in enumerate(text):
        ang = math.radians(-160 + 140 * i / (len(text) - 1))
        glyph = Image.new("L", (90, 90), 0)
        ImageDraw.Draw(glyph).text((10, 0), ch, font=font, fill=255)
        glyph = glyph.rotate(-math.degrees(ang) - 90, resample=Image.BICUBIC)
        gx = c + (r - 95) * math.cos(ang) - 45
        gy = c + (r - 95) * math.sin(ang) - 45
        seal.paste(255, (int(gx), int(gy)), glyph)
    seal = seal.point(lambda v: v * 200 // 255)
    red = Image.new("RGB", seal.size, SEAL)
    x, y = center[0] - c, center[1] - c
    region = page.crop((x, y, x + seal.width, y + seal.height))
    inked = ImageChops.multiply(region, red)
    region = Image.composite(inked, region, seal)
    page.paste(region, (x, y))
    return page


def solve(a, b):
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for col in range(n):
        piv = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[piv] = m[piv], m[col]
        for r in range(n):
            if r != col:
                f = m[r][col] / m[col][col]
                for c in range(col, n + 1):
                    m[r][c] -= f * m[col][c]
    return [m[i][n] / m[i][i] for i in range(n)]


def perspective_coeffs(dst, src):
    a, b = [], []
    for (x, y), (u, v) in zip(dst, src):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        b.append(u)
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        b.append(v)
    return solve(a, b)


def quad(fw, fh, angle, keystone, fill, shift, pw=PAGE_W, ph=PAGE_H):
    h = fh * fill
    w = h * pw / ph
    k = keystone
    pts = [(-w / 2 * (1 - k), -h / 2), (w / 2 * (1 - k), -h / 2), (w / 2 * (1 + k), h / 2), (-w / 2 * (1 + k), h / 2)]
    t = math.radians(angle)
    cx, cy = fw / 2 + shift[0] * fw, fh / 2 + shift[1] * fh
    return [(cx + x * math.cos(t) - y * math.sin(t), cy + x * math.sin(t) + y * math.cos(t)) for x, y in pts]


def smooth_noise(rng, size, cells):
    w, h = max(1, size[0] // cells), max(1, size[1] // cells)
    return Image.frombytes("L", (w, h), rng.randbytes(w * h)).resize(size, Image.BICUBIC)


def desk(rng, size, colour):
    base = Image.new("RGB", size, colour)
    grain = smooth_noise(rng, size, max(8, size[0] // 200)).point(lambda v: v // 7)
    return ImageChops.subtract(ImageChops.add(base, grain.convert("RGB")), Image.new("RGB", size, (18, 18, 18)))


def lighting(size, spot, strength):
    w, h = 64, 36
    img = Image.new("L", (w, h))
    px = img.load()
    for y in range(h):
        for x in range(w):
            dd = math.hypot(x / w - spot[0], (y / h - spot[1]) * h / w)
            px[x, y] = int(255 * max(0.0, 1.0 - strength * dd))
    return img.resize(size, Image.BICUBIC).convert("RGB")


def photograph(page, spec, rng):
    fw, fh = spec["frame"]
    frame = desk(rng, (fw, fh), spec.get("desk", (95, 78, 62)))
    pw, ph = page.size
    if "tilt" in spec:
        q = tilted_quad(fw, fh, spec["angle"], spec["tilt"], spec.get("fill", 0.9), pw, ph)
    else:
        q = quad(fw, fh, spec["angle"], spec["keystone"], spec.get("fill", 0.9), spec.get("shift", (0, 0)), pw, ph)
    side = max(math.dist(q[0], q[3]), math.dist(q[1], q[2]))
    sw, sh = int(round(side * 1.15 * pw / ph)), int(round(side * 1.15))
    small = page.resize((sw, sh), Image.LANCZOS)
    coeffs = perspective_coeffs(q, [(0, 0), (sw, 0), (sw, sh), (0, sh)])
    warped = small.transform((fw, fh), Image.PERSPECTIVE, coeffs, Image.BICUBIC)
    mask = Image.new("L", (fw, fh), 0)
    ImageDraw.Draw(mask).polygon(q, fill=255)
    shadow = Image.new("L", (fw, fh), 0)
    ImageDraw.Draw(shadow).polygon([(x + fw * 0.004, y + fh * 0.007) for x, y in q], fill=100)
    shadow = shadow.filter(ImageFilter.GaussianBlur(fw / 240))
    frame = Image.composite(Image.new("RGB", frame.size, (20, 16, 12)), frame, shadow)
    frame = Image.composite(warped, frame, mask.filter(ImageFilter.GaussianBlur(0.7)))
    if spec.get("edge_shadow"):
        # A dark band (the camera arm's shadow) across one side of the page.
        band = Image.new("L", (fw, fh), 0)
        x0 = int(q[0][0] + (q[1][0] - q[0][0]) * 0.78)
        ImageDraw.Draw(band).rectangle([x0, 0, fw, fh], fill=150)
        band = band.filter(ImageFilter.GaussianBlur(fw / 60))
        frame = Image.composite(Image.new("RGB", frame.size, (10, 10, 10)), frame, band)
    if spec.get("shadow"):
        frame = body_shadow(frame, q, spec["shadow"])
    frame = ImageChops.multiply(frame, lighting((fw, fh), spec["light"], spec.get("light_strength", 0.5)))
    if spec.get("glare"):
        frame = glare(frame, q, spec["glare"])
    if spec.get("motion"):
        frame = motion_blur(frame, *spec["motion"])
    frame = frame.filter(ImageFilter.GaussianBlur(spec.get("blur", 0.9)))
    fine = Image.frombytes("L", (fw, fh), rng.randbytes(fw * fh))
    amp = spec.get("noise", 25)
    plus = fine.point(lambda v: max(0, v - 128) // amp).convert("RGB")
    minus = fine.point(lambda v: max(0, 127 - v) // amp).convert("RGB")
    return ImageChops.subtract(ImageChops.add(frame, plus), minus)


# --- New pages (014 on): printed forms of fields, handwriting, hall conditions. ---

KAI = "/usr/share/fonts/truetype/arphic-gkai00mp/gkai00mp.ttf"  # fonts-arphic-gkai00mp
UKAI = "/usr/share/fonts/truetype/arphic/ukai.ttc"  # fonts-arphic-ukai
PEN = (28, 36, 92)
_FONTS = {}


def cn_date(y, m, d):
    """二〇二四年五月九日: year digit by digit with 〇, month and day as numbers."""
    def small(v):
        return DIGITS[v] if v < 10 else ("" if v < 20 else DIGITS[v // 10]) + "十" + (DIGITS[v % 10] if v % 10 else "")
    year = "".join("〇" if c == "0" else DIGITS[int(c)] for c in str(y))
    return "%s年%s月%s日" % (year, small(m), small(d))


def restyle(lines, fields, opts):
    """Prints the page's fields in the forms `opts` asks for; the truth values stay canonical.

    cn_date: dates 2024年5月9日 as 二〇二四年五月九日; id: "spaced4" (4403 0519 …),
    "spaced684" (440305 19790122 5154) or "split" (the paragraph wraps inside the
    number); phone: "dash" (138-1234-5678) or "space" (0431-8888 6666)."""
    value = dict(fields)
    out = []
    for kind, content in lines:
        if not isinstance(content, str):
            out.append((kind, content))
            continue
        if opts.get("cn_date") and "date" in value:
            y, m, d = (int(v) for v in value["date"].split("-"))
            content = content.replace("%d年%d月%d日" % (y, m, d), cn_date(y, m, d))
        tel = value.get("phone")
        if opts.get("phone") and tel:
            printed = tel if tel.startswith("1") else tel[:4] + "-" + tel[4:]
            if opts["phone"] == "dash":
                new = "%s-%s-%s" % (tel[:3], tel[3:7], tel[7:]) if tel.startswith("1") else printed
            else:
                new = "%s %s %s" % (tel[:3], tel[3:7], tel[7:]) if tel.startswith("1") else "%s-%s %s" % (tel[:4], tel[4:8], tel[8:])
            content = content.replace(printed, new)
        idn = value.get("id")
        style = opts.get("id")
        if style and idn and idn in content:
            if style == "split":
                at = content.index(idn)
                out.append(("split", (content, at, at + len(idn))))
                continue
            groups = [idn[i:i + 4] for i in range(0, 18, 4)] if style == "spaced4" else [idn[:6], idn[6:14], idn[14:]]
            content = content.replace(idn, " ".join(groups))
        out.append((kind, content))
    return out


# Openings put before a paragraph so that its wrapping can fall inside a number.
OPENINGS = ["", "现反映如下：", "本人情况如下：", "现将本人情况反映如下：", "我是本地居民，现将情况反映如下：",
            "我是本地居民，长期在外务工，现将有关情况反映如下："]


def wrap_inside(draw, text, font, width, start, end):
    """Wraps `text` (after an opening phrase if needed) so that a line breaks inside [start, end)."""
    for opening in OPENINGS:
        at_text = text[:2] + opening + text[2:]
        shift = len(opening)
        for w in range(width, int(width * 0.75), -6):
            lines = wrap(draw, at_text, font, w)
            at = 0
            for ln in lines[:-1]:
                at += len(ln)
                if start + shift + 4 <= at <= end + shift - 4:
                    return lines
    return wrap(draw, text, font, width)


def font_at(path, size):
    if (path, size) not in _FONTS:
        _FONTS[(path, size)] = ImageFont.truetype(path, size)
    return _FONTS[(path, size)]


def hand_text(page, xy, text, font, rng):
    """Draws `text` a character at a time, each with its own size, slant and baseline, in pen ink."""
    x, y = xy
    slope = rng.uniform(-0.012, 0.012)
    for ch in text:
        size = int(font.size * rng.uniform(0.86, 1.12))
        f = font_at(font.path, size)
        if ch.strip() and f.getmask(ch).getbbox() is None:
            f = font_at(UKAI, size)  # gkai00mp has no 〇; UKai has every character used here
            if f.getmask(ch).getbbox() is None:
                raise SystemExit("no handwriting glyph for U+%04X" % ord(ch))
        if ch.strip():
            box = int(size * 1.6)
            glyph = Image.new("L", (box, box), 0)
            ImageDraw.Draw(glyph).text((size * 0.3, size * 0.2), ch, font=f, fill=235)
            glyph = glyph.rotate(rng.uniform(-7, 7), resample=Image.BICUBIC)
            dy = rng.uniform(-0.08, 0.08) * font.size + (font.size - size) * 0.8 + slope * (x - xy[0])
            page.paste(PEN, (int(x - size * 0.3), int(y + dy - size * 0.2)), glyph)
        x += f.getlength(ch) * rng.uniform(0.98, 1.12)


def tilted_quad(fw, fh, angle, tilt, fill, pw, ph):
    """The page's corners as seen by a camera tilted `tilt` degrees from the desk's normal
    (pinhole, 1.5 page heights away), turned `angle` degrees on the desk, fitted to the frame."""
    t, a = math.radians(tilt), math.radians(angle)
    dist = 1.5 * max(pw, ph)
    pts = []
    for x, y in [(-pw / 2, -ph / 2), (pw / 2, -ph / 2), (pw / 2, ph / 2), (-pw / 2, ph / 2)]:
        x, y = x * math.cos(a) - y * math.sin(a), x * math.sin(a) + y * math.cos(a)
        z = dist + y * math.sin(t)
        pts.append((x / z, y * math.cos(t) / z))
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    scale = min(fh * fill / (max(ys) - min(ys)), fw * 0.95 / (max(xs) - min(xs)))
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    return [(fw / 2 + (x - cx) * scale, fh / 2 + (y - cy) * scale) for x, y in pts]


def on_page(q, u, v):
    """The frame point at (u, v) of the page (0..1 across, 0..1 down)."""
    top = [q[0][i] + (q[1][i] - q[0][i]) * u for i in (0, 1)]
    bottom = [q[3][i] + (q[2][i] - q[3][i]) * u for i in (0, 1)]
    return top[0] + (bottom[0] - top[0]) * v, top[1] + (bottom[1] - top[1]) * v


def body_shadow(frame, q, where):
    """A soft shadow (a person leaning over the desk) over a corner of the page."""
    fw, fh = frame.size
    u, v = where
    poly = [on_page(q, u, v), on_page(q, u + 0.9, v - 0.25), on_page(q, 1.4, 1.4), on_page(q, u - 0.3, 1.4)]
    mask = Image.new("L", frame.size, 0)
    ImageDraw.Draw(mask).polygon(poly, fill=140)
    mask = mask.filter(ImageFilter.GaussianBlur(fw / 45))
    return Image.composite(Image.new("RGB", frame.size, (12, 12, 16)), frame, mask)


def glare(frame, q, where):
    """A specular reflection of the ceiling light: a bright blob that washes the text out."""
    fw, fh = frame.size
    x, y = on_page(q, *where)
    r = fh * 0.13
    mask = Image.new("L", frame.size, 0)
    ImageDraw.Draw(mask).ellipse([x - r * 1.5, y - r, x + r * 1.5, y + r], fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(r * 0.4)).point(lambda v: min(240, v * 240 // 170))
    return Image.composite(Image.new("RGB", frame.size, (253, 253, 250)), frame, mask)


def motion_blur(frame, length, angle):
    """Light motion blur: the mean of `length` copies shifted along `angle` degrees."""
    dx, dy = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    acc = frame
    for i in range(1, length):
        k = i - (length - 1) / 2
        shifted = ImageChops.offset(frame, int(round(k * dx)), int(round(k * dy)))
        acc = Image.blend(acc, shifted, 1.0 / (i + 1))
    return acc


def fold(page, rng, vertical):
    """A crease where the page was folded: a dark line, a shaded side and a lit side."""
    w, h = page.size
    n = w if vertical else h
    at = int(n * (rng.uniform(0.35, 0.6) if vertical else rng.uniform(0.2, 0.3)))
    ramp = Image.new("L", (n, 1))
    for i in range(n):
        d = i - at
        ramp.putpixel((i, 0), int(255 - 80 * math.exp(-d / 90.0)) if d >= 0 else int(255 - 25 * math.exp(d / 40.0)))
    ramp = ramp.resize((n, 1))
    shade = ramp.resize((w, h)) if vertical else ramp.transpose(Image.TRANSPOSE).resize((w, h))
    page = ImageChops.multiply(page, shade.convert("RGB"))
    d = ImageDraw.Draw(page)
    line = [(at, 0), (at + rng.randint(-20, 20), h)] if vertical else [(0, at), (w, at + rng.randint(-20, 20))]
    d.line(line, fill=(150, 148, 145), width=4)
    return page


def photocopy(page, rng):
    """A photocopy: grey, contrast lost, toner speckle, darker edges."""
    g = page.convert("L").filter(ImageFilter.GaussianBlur(1.4))
    lo, hi = rng.randint(60, 85), rng.randint(212, 226)
    g = g.point(lambda v: int(lo + (hi - lo) * (v / 255.0) ** 1.3))
    w, h = g.size
    d = ImageDraw.Draw(g)
    for _ in range(rng.randint(2500, 4000)):
        x, y, r = rng.randrange(w), rng.randrange(h), rng.choice([1, 1, 2, 2, 3, 4])
        d.ellipse([x - r, y - r, x + r, y + r], fill=rng.randint(40, 140))
    for _ in range(rng.randint(1, 3)):  # a streak of the copier's drum
        x = rng.randrange(w)
        d.line([(x, 0), (x + rng.randint(-8, 8), h)], fill=rng.randint(150, 190), width=rng.randint(2, 5))
    edge = Image.new("L", (62, 88))
    for y in range(88):
        for x in range(62):
            m = min(x, 61 - x, y, 87 - y)
            edge.putpixel((x, y), int(255 * (0.62 + 0.38 * min(1.0, m / 5.0))))
    g = ImageChops.multiply(g, edge.resize((w, h), Image.BICUBIC))
    return g.convert("RGB")


HD, QSXGA, EIGHT_MP = (1920, 1080), (2592, 1944), (3264, 2448)
HD720 = (1280, 720)

SPECS = [
    # kind, seed, frame, angle, keystone, light spot, extras
    dict(kind=letter, seed=101, frame=HD, angle=2.5, keystone=0.03, light=(0.3, 0.2)),
    dict(kind=form, seed=102, frame=HD, angle=-3.0, keystone=-0.02, light=(0.7, 0.3)),
    dict(kind=judgment, seed=103, frame=HD, angle=1.5, keystone=0.02, light=(0.5, 0.8), seal=True),
    dict(kind=notice, seed=104, frame=HD, angle=-5.0, keystone=0.04, light=(0.2, 0.7), seal=True),
    dict(kind=receipt, seed=105, frame=HD, angle=6.0, keystone=0.0, light=(0.5, 0.5), blur=1.3),
    dict(kind=letter, seed=106, frame=QSXGA, angle=-2.0, keystone=0.05, light=(0.8, 0.8), light_strength=0.7, quality=60),
    dict(kind=form, seed=107, frame=QSXGA, angle=4.0, keystone=0.03, light=(0.2, 0.2), noise=12),
    dict(kind=judgment, seed=108, frame=EIGHT_MP, angle=-1.0, keystone=0.02, light=(0.4, 0.3), seal=True),
    dict(kind=letter, seed=109, frame=EIGHT_MP, angle=3.5, keystone=-0.03, light=(0.6, 0.4), blur=1.8),
    dict(kind=notice, seed=110, frame=QSXGA, angle=-8.0, keystone=0.02, light=(0.5, 0.2), desk=(150, 145, 135), seal=True),
    dict(kind=letter, seed=111, frame=HD, angle=1.0, keystone=0.02, light=(0.4, 0.5), edge_shadow=True),
    dict(kind=receipt, seed=112, frame=QSXGA, angle=-4.0, keystone=-0.04, light=(0.3, 0.8), noise=10, quality=55),
    dict(kind=full_letter, seed=113, frame=EIGHT_MP, angle=1.5, keystone=0.02, light=(0.5, 0.4)),
]


# The 13 pages above keep their bytes; they are the easy and typical tiers of the first corpus.
EASY = {7, 8, 13}

# New pages (014 on): more easy and typical pages, the printed forms of fields
# that OCR text garbles (Chinese-numeral dates, ID numbers with spaces or broken
# over a line, phone numbers with separators), and a hard tier with each
# condition of the hall on at least two pages. JPEG quality 65-82.
# turn: the page lies turned clockwise on the desk (the frame stays landscape);
# tilt: camera tilted from the desk's normal, in degrees (keystone).
SPECS += [
    dict(kind=letter, seed=114, tier="easy", frame=EIGHT_MP, angle=1.0, keystone=0.01, light=(0.5, 0.4), quality=68),
    dict(kind=form, seed=115, tier="easy", frame=QSXGA, angle=-1.5, keystone=0.02, light=(0.4, 0.5), quality=72),
    dict(kind=receipt, seed=116, tier="easy", frame=QSXGA, angle=2.0, keystone=0.0, light=(0.5, 0.5), quality=72),
    dict(kind=notice, seed=117, tier="easy", frame=EIGHT_MP, angle=-1.0, keystone=0.01, light=(0.6, 0.3), seal=True, quality=66),
    dict(kind=judgment, seed=118, tier="easy", frame=QSXGA, angle=0.5, keystone=0.02, light=(0.4, 0.6), seal=True, cn_date=True, quality=72),
    dict(kind=letter, seed=119, tier="typical", frame=HD, angle=-4.0, keystone=0.03, light=(0.3, 0.6), id="spaced4", phone="dash"),
    dict(kind=form, seed=120, tier="typical", frame=QSXGA, angle=5.0, keystone=-0.03, light=(0.7, 0.4), phone="space", quality=70),
    dict(kind=letter, seed=121, tier="typical", frame=QSXGA, angle=-3.0, keystone=0.02, light=(0.7, 0.3), light_strength=0.6, id="split", quality=70),
    dict(kind=notice, seed=122, tier="typical", frame=HD, angle=3.0, keystone=0.02, light=(0.4, 0.4), seal=True, cn_date=True, phone="space"),
    dict(kind=judgment, seed=123, tier="typical", frame=EIGHT_MP, angle=-2.0, keystone=0.03, light=(0.5, 0.7), seal=True, cn_date=True, id="spaced684", quality=65),
    dict(kind=receipt, seed=124, tier="typical", frame=HD, angle=-7.0, keystone=0.02, light=(0.6, 0.6), edge_shadow=True),
    dict(kind=letter, seed=125, tier="typical", frame=HD, angle=6.0, keystone=-0.02, light=(0.5, 0.3), desk=(150, 145, 135), id="spaced684", phone="space"),
    # hard: the page turned on the desk
    dict(kind=letter, seed=126, tier="hard", frame=QSXGA, turn=90, fill=0.8, angle=2.0, keystone=0.02, light=(0.4, 0.4), quality=70),
    dict(kind=form, seed=127, tier="hard", frame=HD, turn=90, fill=0.8, angle=-2.0, keystone=0.01, light=(0.6, 0.5)),
    dict(kind=judgment, seed=128, tier="hard", frame=QSXGA, turn=180, fill=0.8, angle=1.5, keystone=0.02, light=(0.5, 0.5), seal=True, quality=70),
    dict(kind=letter, seed=129, tier="hard", frame=HD, turn=180, fill=0.8, angle=-3.0, keystone=0.03, light=(0.3, 0.3), cn_date=True),
    dict(kind=notice, seed=130, tier="hard", frame=QSXGA, turn=270, fill=0.8, angle=-1.0, keystone=0.02, light=(0.5, 0.6), seal=True, quality=70),
    dict(kind=receipt, seed=131, tier="hard", frame=HD, turn=270, fill=0.8, angle=2.5, keystone=0.0, light=(0.6, 0.4)),
    # hard: a 720p camera
    dict(kind=letter, seed=132, tier="hard", frame=HD720, angle=2.0, keystone=0.02, light=(0.4, 0.5)),
    dict(kind=form, seed=133, tier="hard", frame=HD720, angle=-3.0, keystone=0.02, light=(0.6, 0.4)),
    # hard: camera not square to the desk
    dict(kind=letter, seed=134, tier="hard", frame=QSXGA, tilt=20, angle=3.0, light=(0.5, 0.4), quality=70),
    dict(kind=judgment, seed=135, tier="hard", frame=EIGHT_MP, tilt=25, angle=-2.0, light=(0.4, 0.5), seal=True, quality=65),
    dict(kind=notice, seed=136, tier="hard", frame=HD, tilt=15, angle=4.0, fill=0.88, light=(0.5, 0.5)),
    # hard: glare and shadows
    dict(kind=letter, seed=137, tier="hard", frame=QSXGA, angle=-2.0, keystone=0.02, light=(0.5, 0.4), glare=(0.55, 0.24), quality=70),
    dict(kind=form, seed=138, tier="hard", frame=HD, angle=2.0, keystone=0.02, light=(0.5, 0.5), glare=(0.4, 0.3), shadow=(0.6, 0.12)),
    dict(kind=letter, seed=139, tier="hard", frame=QSXGA, angle=1.0, keystone=0.03, light=(0.4, 0.5), shadow=(0.35, 0.18), quality=70),
    # hard: folded, photocopied
    dict(kind=judgment, seed=140, tier="hard", frame=QSXGA, angle=-1.5, keystone=0.02, light=(0.5, 0.5), seal=True, fold="across", quality=70),
    dict(kind=letter, seed=141, tier="hard", frame=HD, angle=2.5, keystone=0.02, light=(0.4, 0.4), fold="down", phone="dash"),
    dict(kind=judgment, seed=142, tier="hard", frame=QSXGA, angle=1.0, keystone=0.02, light=(0.5, 0.4), seal=True, photocopy=True, id="split", quality=70),
    dict(kind=letter, seed=143, tier="hard", frame=HD, angle=-2.0, keystone=0.02, light=(0.6, 0.5), photocopy=True),
    # hard: written by hand (Kaiti fonts with per-character jitter)
    dict(kind=letter, seed=144, tier="hard", frame=QSXGA, angle=1.5, keystone=0.02, light=(0.5, 0.5), hand=KAI, cn_date=True, quality=70),
    dict(kind=letter, seed=145, tier="hard", frame=EIGHT_MP, angle=-2.0, keystone=0.02, light=(0.4, 0.4), hand=UKAI, id="spaced4", quality=65),
    # hard: small print, seals over the text, motion blur
    dict(kind=notice, seed=146, tier="hard", frame=QSXGA, angle=2.0, keystone=0.02, light=(0.5, 0.5), body_px=30, quality=72),
    dict(kind=full_letter, seed=147, tier="hard", frame=EIGHT_MP, angle=-1.0, keystone=0.02, light=(0.5, 0.4), body_px=34, quality=65),
    dict(kind=judgment, seed=148, tier="hard", frame=QSXGA, angle=-2.0, keystone=0.02, light=(0.5, 0.5), seal=True, seal_over=True, quality=70),
    dict(kind=notice, seed=149, tier="hard", frame=HD, angle=3.0, keystone=0.02, light=(0.4, 0.6), seal=True, seal_over=True),
    dict(kind=letter, seed=150, tier="hard", frame=QSXGA, angle=1.0, keystone=0.02, light=(0.5, 0.5), motion=(9, 20), quality=70),
    dict(kind=receipt, seed=151, tier="hard", frame=HD, angle=-2.0, keystone=0.02, light=(0.5, 0.5), motion=(5, 100)),
    # the same page as an 8 MP and as a 720p frame
    dict(kind=letter, seed=152, tier="easy", num=52, name="pair-8mp", frame=EIGHT_MP, angle=1.5, keystone=0.02, light=(0.5, 0.4), quality=65),
    dict(kind=letter, seed=152, tier="hard", num=52, name="pair-720p", frame=HD720, angle=1.5, keystone=0.02, light=(0.5, 0.4)),
]

RESOLUTION = {HD720: "720p", HD: "1080p", QSXGA: "5mp", EIGHT_MP: "8mp"}
TURN = {90: Image.ROTATE_270, 180: Image.ROTATE_180, 270: Image.ROTATE_90}  # PIL turns counter-clockwise


def conditions(spec, body_px):
    """The index's condition names for a page, from what the generator did to it."""
    c = [RESOLUTION[spec["frame"]]]
    if spec.get("turn"):
        c.append("rot%d" % spec["turn"])
    if spec.get("tilt", 0) >= 15:
        c.append("keystone")
    flags = [("glare", "glare"), ("shadow", "shadow"), ("edge_shadow", "shadow"), ("fold", "fold"),
             ("photocopy", "photocopy"), ("hand", "handwriting"), ("motion", "motion-blur"),
             ("cn_date", "cn-date"), ("phone", "phone-sep")]
    c += [name for key, name in flags if spec.get(key) and name not in c]
    if body_px <= 36:
        c.append("small-print")
    if spec.get("seal"):
        c.append("seal-over-text" if spec.get("seal_over") else "seal")
    if spec.get("id"):
        c.append("id-split" if spec["id"] == "split" else "id-spaced")
    if spec.get("blur", 0.9) >= 1.3:
        c.append("blur")
    return c


def main():
    os.makedirs(OUT, exist_ok=True)
    index = ["stem\ttier\tconditions"]
    for idx, spec in enumerate(SPECS, start=1):
        rng = random.Random(spec["seed"])
        lines, fields, font, bold = spec["kind"](rng)
        body_px = rng.choice([50, 54, 58])
        if idx <= 13:
            page, truth = render(lines, font, bold, body_px, spec.get("seal", False))
        else:
            body_px = spec.get("body_px", body_px)
            lines = restyle(lines, fields, spec)
            style = {"seal_over": spec.get("seal_over")}
            if spec.get("hand"):
                font = bold = spec["hand"]
                style["hand"] = random.Random(spec["seed"] * 7)
            page, truth = render(lines, font, bold, body_px, spec.get("seal", False), style)
            if spec.get("fold"):
                page = fold(page, rng, spec["fold"] == "down")
            if spec.get("photocopy"):
                page = photocopy(page, rng)
            if spec.get("turn"):
                page = page.transpose(TURN[spec["turn"]])
        img = photograph(page, spec, rng)
        name = "%03d-%s" % (spec.get("num", idx), spec.get("name", spec["kind"].__name__.replace("_", "-")))
        stem = os.path.join(OUT, name)
        img.save(stem + ".jpg", quality=spec.get("quality", 82), optimize=True)
        with open(stem + ".txt", "w", encoding="utf-8") as f:
            f.write("\n".join(truth) + "\n")
        with open(stem + ".fields", "w", encoding="utf-8") as f:
            f.write("".join("%s\t%s\n" % kv for kv in fields))
        tier = spec.get("tier", "easy" if idx in EASY else "typical")
        index.append("%s\t%s\t%s" % (name, tier, ",".join(conditions(spec, body_px))))
        print(stem, os.path.getsize(stem + ".jpg"))
    with open(os.path.join(OUT, "index.tsv"), "w", encoding="utf-8") as f:
        f.write("\n".join(index) + "\n")


if __name__ == "__main__":
    main()
