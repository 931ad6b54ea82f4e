#!/usr/bin/python3
"""Generate synthetic SPECIMEN document-camera photos for the kiosk-camera tests.

Each photo shows an A4 petition letter (invented text, marked 样本 SPECIMEN)
lying on a darker textured desk, as a 1920x1080 document camera would see it:
rotated a few degrees, mildly keystoned, unevenly lit, slightly blurred and
noisy. One extra frame shows the empty desk.

The output is deterministic (fixed seeds, no time-dependent input). Run it
from anywhere with Debian's Python 3 and python3-pil:

    /usr/bin/python3 drivers/camera/samples/make_specimens.py
"""

import math
import os
import random

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

HERE = os.path.dirname(os.path.abspath(__file__))
FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
FONT_BOLD = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"
FRAME_W, FRAME_H = 1920, 1080
# A4 at 300 dpi.
PAGE_W, PAGE_H = 2480, 3508
MARGIN_X, MARGIN_TOP = 260, 300
BODY_PX = 56  # About 13.5 pt at 300 dpi.
LINE_PX = 100
JPEG_QUALITY = 80

PAGES = [
    {
        "title": "信访材料",
        "paragraphs": [
            "尊敬的信访接待同志：",
            "我叫王某某，是本市某建筑劳务公司的一名工人。二〇二三年三月至十二月，我和同班组的十二名工友在该公司承建的住宅项目工地上从事钢筋工作，每天工作十个小时以上。",
            "工程完工后，公司以资金紧张为由一直拖欠工资，共计约十八万元。我们多次到公司讨要，负责人总是推说再等一等，至今没有给出付款时间。",
            "临近年底，工友们家中老人看病、孩子上学都需要用钱，生活十分困难。",
            "特此反映情况，恳请有关部门核实，请求依法处理，督促公司尽快足额支付工资。",
        ],
        "seed": 11,
        "angle": 3.0,
        "center": (960, 545),
        "keystone": 0.035,
        "light": (0.25, 0.2),
    },
    {
        "title": "信访材料",
        "paragraphs": [
            "尊敬的领导：",
            "我是某县某镇某村村民李某某。二〇二二年，村里部分集体土地被征收用于修建道路，我家承包的三亩耕地在征收范围内。",
            "按照当时公布的方案，每亩应发放征地补偿款和安置补助费，但到现在我家只收到一部分，其余款项一直没有发放，也没有人说明原因。",
            "我们多次到镇里询问，工作人员说要等上级拨款。家里失去耕地后没有稳定收入，老人常年吃药，负担很重。",
            "恳请领导过问此事，查清征地补偿款的发放情况，把应得的款项发到我们手中。",
        ],
        "seed": 22,
        "angle": -4.0,
        "center": (930, 540),
        "keystone": -0.03,
        "light": (0.8, 0.3),
    },
    {
        "title": "（第二页）",
        "paragraphs": [
            "另外，村里公示的补偿名单与实际面积不一致，希望一并核实。",
            "以上情况属实，附件为土地承包合同复印件和收款凭证复印件。",
            "此致",
            "敬礼",
            "信访人：李某某",
            "二〇二四年五月六日",
        ],
        "seed": 33,
        "angle": 2.0,
        "center": (1010, 548),
        "keystone": 0.025,
        "light": (0.5, 0.9),
    },
]


def wrap(draw, text, font, width):
    """Break `text` into lines no wider than `width` pixels, one character at a time."""
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


def render_page(spec):
    """Render one A4 page at 300 dpi."""
    page = Image.new("RGB", (PAGE_W, PAGE_H), (246, 244, 238))
    draw = ImageDraw.Draw(page)
    body = ImageFont.truetype(FONT, BODY_PX)
    title = ImageFont.truetype(FONT_BOLD, 96)
    mark = ImageFont.truetype(FONT_BOLD, 60)
    text_w = PAGE_W - 2 * MARGIN_X

    tw = draw.textlength(spec["title"], font=title)
    draw.text(((PAGE_W - tw) / 2, MARGIN_TOP), spec["title"], font=title, fill=(10, 10, 10))
    y = MARGIN_TOP + 220
    for idx, para in enumerate(spec["paragraphs"]):
        indent = "" if idx == 0 or len(para) < 8 else "　　"
        for line in wrap(draw, indent + para, body, text_w):
            draw.text((MARGIN_X, y), line, font=body, fill=(15, 15, 15))
            y += LINE_PX
        y += 20
    # The specimen mark sits in the top right corner, outside the text block.
    label = "样本 SPECIMEN"
    lw = draw.textlength(label, font=mark)
    draw.rectangle([PAGE_W - lw - 150, 90, PAGE_W - 90, 190], outline=(190, 40, 40), width=6)
    draw.text((PAGE_W - lw - 120, 100), label, font=mark, fill=(190, 40, 40))
    return page


def solve(a, b):
    """Solve the linear system a x = b by Gaussian elimination with partial pivoting."""
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
    """PIL PERSPECTIVE coefficients mapping output points `dst` to input points `src`."""
    a, b = [], []
    for (x, y), (u, v) in zip(dst, src):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        b.append(u)
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        b.append(v)
    return solve(a, b)


def page_quad(spec):
    """Corners (tl, tr, br, bl) of the page in the frame: rotated and keystoned."""
    h = 990.0
    w = h * PAGE_W / PAGE_H
    k = spec["keystone"]
    # Keystone: the top edge is narrower (k > 0) or wider (k < 0) than the bottom one.
    pts = [(-w / 2 * (1 - k), -h / 2), (w / 2 * (1 - k), -h / 2), (w / 2 * (1 + k), h / 2), (-w / 2 * (1 + k), h / 2)]
    t = math.radians(spec["angle"])
    cx, cy = spec["center"]
    return [(cx + x * math.cos(t) - y * math.sin(t), cy + x * math.sin(t) + y * math.cos(t)) for x, y in pts]


def noise_image(rng, size, scale):
    """Uniform noise of `size`, generated at 1/`scale` resolution and smoothly upscaled."""
    w, h = max(1, size[0] // scale), max(1, size[1] // scale)
    small = Image.frombytes("L", (w, h), rng.randbytes(w * h))
    return small.resize(size, Image.BICUBIC)


def desk(rng):
    """A darker desk with a faint wood-like grain."""
    base = Image.new("RGB", (FRAME_W, FRAME_H), (92, 74, 58))
    grain = Image.frombytes("L", (8, 270), rng.randbytes(8 * 270)).resize((FRAME_W, FRAME_H), Image.BICUBIC)
    blotch = noise_image(rng, (FRAME_W, FRAME_H), 120)
    tex = ImageChops.add(grain.point(lambda v: v // 6), blotch.point(lambda v: v // 8))
    return ImageChops.subtract(ImageChops.add(base, tex.convert("RGB")), Image.new("RGB", base.size, (40, 40, 40)))


def lighting(cx, cy):
    """Multiplicative lighting falling off from a bright spot at (cx, cy) in frame fractions."""
    w, h = 64, 36
    img = Image.new("L", (w, h))
    px = img.load()
    for y in range(h):
        for x in range(w):
            d = math.hypot(x / w - cx, (y / h - cy) * h / w)
            px[x, y] = int(255 * max(0.0, 1.0 - 0.5 * d))
    return img.resize((FRAME_W, FRAME_H), Image.BICUBIC).convert("RGB")


def finish(img, rng, light):
    """Apply uneven light, lens blur and sensor noise."""
    img = ImageChops.multiply(img, lighting(*light))
    img = img.filter(ImageFilter.GaussianBlur(0.9))
    fine = Image.frombytes("L", (FRAME_W, FRAME_H), rng.randbytes(FRAME_W * FRAME_H))
    # Map uniform noise to about +-5 grey levels around zero.
    plus = fine.point(lambda v: max(0, v - 128) // 25).convert("RGB")
    minus = fine.point(lambda v: max(0, 127 - v) // 25).convert("RGB")
    return ImageChops.subtract(ImageChops.add(img, plus), minus)


def photo(spec):
    rng = random.Random(spec["seed"])
    frame = desk(rng)
    page = render_page(spec)
    quad = page_quad(spec)
    # Downscale close to the final size first so the perspective warp does not alias.
    side = max(math.dist(quad[0], quad[3]), math.dist(quad[1], quad[2]))
    sw = int(round(side * 1.15 * PAGE_W / PAGE_H))
    sh = int(round(side * 1.15))
    small = page.resize((sw, sh), Image.LANCZOS)
    src = [(0, 0), (sw, 0), (sw, sh), (0, sh)]
    coeffs = perspective_coeffs(quad, src)
    warped = small.transform((FRAME_W, FRAME_H), Image.PERSPECTIVE, coeffs, Image.BICUBIC)
    mask = Image.new("L", (FRAME_W, FRAME_H), 0)
    ImageDraw.Draw(mask).polygon(quad, fill=255)
    # A soft shadow under the page.
    shadow = Image.new("L", (FRAME_W, FRAME_H), 0)
    ImageDraw.Draw(shadow).polygon([(x + 6, y + 8) for x, y in quad], fill=110)
    shadow = shadow.filter(ImageFilter.GaussianBlur(8))
    frame = Image.composite(Image.new("RGB", frame.size, (20, 16, 12)), frame, shadow)
    frame = Image.composite(warped, frame, mask.filter(ImageFilter.GaussianBlur(0.7)))
    return finish(frame, rng, spec["light"])


def main():
    out_dir = os.path.join(HERE, "pages")
    truth_dir = os.path.join(HERE, "truth")
    os.makedirs(out_dir, exist_ok=True)
    os.makedirs(truth_dir, exist_ok=True)
    for idx, spec in enumerate(PAGES, start=1):
        path = os.path.join(out_dir, "page-%03d.jpg" % idx)
        photo(spec).save(path, quality=JPEG_QUALITY, optimize=True)
        print(path, os.path.getsize(path))
        # Ground truth for OCR accuracy checks: the letter text without spaces
        # or the specimen mark, one paragraph a line.
        truth = os.path.join(truth_dir, "page-%03d.txt" % idx)
        with open(truth, "w", encoding="utf-8") as f:
            f.write("\n".join([spec["title"]] + spec["paragraphs"]) + "\n")
    rng = random.Random(44)
    empty = finish(desk(rng), rng, (0.4, 0.3))
    path = os.path.join(HERE, "empty-desk.jpg")
    empty.save(path, quality=JPEG_QUALITY, optimize=True)
    print(path, os.path.getsize(path))


if __name__ == "__main__":
    main()
