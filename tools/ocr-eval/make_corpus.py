#!/usr/bin/python3
"""Generate the synthetic OCR evaluation corpus (camera-style photos of petition pages).

Every page is invented and marked 样本 SPECIMEN: letters, complaint forms with
table lines, court judgments and notices (some with red seals) and receipts.
Each is rendered at 300 dpi with Debian's Noto CJK fonts and "photographed"
onto a desk: rotation, keystone, uneven light, edge shadows, blur, sensor
noise and JPEG compression, at 1920x1080, 2592x1944 or 3264x2448.

For each photo `corpus/NNN-kind.jpg` it writes the ground truth
`corpus/NNN-kind.txt` (the printed text, one line per printed line, without
the specimen mark) and `corpus/NNN-kind.fields` (one `name<TAB>value` a line:
kind, id, phone, date as YYYY-MM-DD, amount in yuan, name).

Deterministic (fixed seeds). Needs Debian's python3-pil and fonts-noto-cjk:

    /usr/bin/python3 tools/ocr-eval/make_corpus.py
"""

import math
import os
import random

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")
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


def render(lines, font_path, bold_path, body_px, seal):
    page = Image.new("RGB", (PAGE_W, PAGE_H), PAPER)
    draw = ImageDraw.Draw(page)
    body = ImageFont.truetype(font_path, body_px)
    title = ImageFont.truetype(bold_path, int(body_px * 1.7))
    width = PAGE_W - 2 * MARGIN
    step = int(body_px * 1.75)
    truth = []
    y = MARGIN + 60
    for kind, content in lines:
        if kind == "title" or kind == "center":
            font = title if kind == "title" else body
            tw = draw.textlength(content, font=font)
            draw.text(((PAGE_W - tw) / 2, y), content, font=font, fill=INK)
            truth.append(content)
            y += int(font.size * 1.9)
        elif kind == "right":
            tw = draw.textlength(content, font=body)
            draw.text((PAGE_W - MARGIN - tw, y), content, font=body, fill=INK)
            truth.append(content)
            y += step
        elif kind == "table":
            y = table(draw, content, body, y, truth)
        else:
            indent = "　　" if kind == "para" else ""
            for ln in wrap(draw, indent + content, body, width):
                draw.text((MARGIN, y), ln, font=body, fill=INK)
                truth.append(ln.strip("　"))
                y += step
    mark = ImageFont.truetype(SANS_BOLD, 54)
    label = "样本 SPECIMEN"
    lw = draw.textlength(label, font=mark)
    draw.text((PAGE_W - lw - 120, 110), label, font=mark, fill=(150, 150, 150))
    if seal:
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


def quad(fw, fh, angle, keystone, fill, shift):
    h = fh * fill
    w = h * PAGE_W / PAGE_H
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
    q = quad(fw, fh, spec["angle"], spec["keystone"], spec.get("fill", 0.9), spec.get("shift", (0, 0)))
    side = max(math.dist(q[0], q[3]), math.dist(q[1], q[2]))
    sw, sh = int(round(side * 1.15 * PAGE_W / PAGE_H)), int(round(side * 1.15))
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
    frame = ImageChops.multiply(frame, lighting((fw, fh), spec["light"], spec.get("light_strength", 0.5)))
    frame = frame.filter(ImageFilter.GaussianBlur(spec.get("blur", 0.9)))
    fine = Image.frombytes("L", (fw, fh), rng.randbytes(fw * fh))
    amp = spec.get("noise", 25)
    plus = fine.point(lambda v: max(0, v - 128) // amp).convert("RGB")
    minus = fine.point(lambda v: max(0, 127 - v) // amp).convert("RGB")
    return ImageChops.subtract(ImageChops.add(frame, plus), minus)


HD, QSXGA, EIGHT_MP = (1920, 1080), (2592, 1944), (3264, 2448)

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


def main():
    os.makedirs(OUT, exist_ok=True)
    for idx, spec in enumerate(SPECS, start=1):
        rng = random.Random(spec["seed"])
        lines, fields, font, bold = spec["kind"](rng)
        body_px = rng.choice([50, 54, 58])
        page, truth = render(lines, font, bold, body_px, spec.get("seal", False))
        img = photograph(page, spec, rng)
        stem = os.path.join(OUT, "%03d-%s" % (idx, spec["kind"].__name__.replace("_", "-")))
        img.save(stem + ".jpg", quality=spec.get("quality", 82), optimize=True)
        with open(stem + ".txt", "w", encoding="utf-8") as f:
            f.write("\n".join(truth) + "\n")
        with open(stem + ".fields", "w", encoding="utf-8") as f:
            f.write("".join("%s\t%s\n" % kv for kv in fields))
        print(stem, os.path.getsize(stem + ".jpg"))


if __name__ == "__main__":
    main()
