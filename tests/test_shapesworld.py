"""ShapesWorld generators against the rules in shared/specs/shapesworld.md."""
from __future__ import annotations

import dataclasses
import itertools
import math
import re
from collections import Counter

import cv2
import numpy as np
import pytest

from mmcore.shapesworld import (
    ACTIONS,
    COLOR_NAMES,
    COLORS,
    QUESTION_TYPES,
    RELATIONS,
    SENTIMENTS,
    SHAPES,
    CaptionScene,
    Face,
    Shape,
    VQAScene,
    all_items,
    answer,
    generate_caption_scene,
    generate_clip,
    generate_face,
    generate_scene,
    is_correct_caption,
    render,
    write_video,
)

N = 300  # scenes per generator property test


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def nonwhite(img: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels that are not the white background."""
    return (img != 255).any(axis=-1)


# ---------------------------------------------------------------- section 1: VQA scenes


@pytest.fixture(scope="module")
def vqa_scenes() -> list[VQAScene]:
    return [generate_scene(rng(s)) for s in range(N)]


def test_vqa_six_objects_one_per_colour(vqa_scenes):
    for scene in vqa_scenes:
        assert len(scene.objects) == 6
        assert sorted(o.color for o in scene.objects) == sorted(COLOR_NAMES)


def test_vqa_centres_shapes_and_spacing(vqa_scenes):
    shapes = Counter()
    for scene in vqa_scenes:
        for o in scene.objects:
            assert o.x == int(o.x) and o.y == int(o.y)
            assert 5 <= o.x <= 69 and 5 <= o.y <= 69
            assert o.shape in ("square", "circle") and o.half == 5
            shapes[o.shape] += 1
        for a, b in itertools.combinations(scene.objects, 2):
            assert math.hypot(a.x - b.x, a.y - b.y) >= 10
    assert 0.45 < shapes["square"] / sum(shapes.values()) < 0.55


def _scene(*specs: tuple[str, float, float]) -> VQAScene:
    """Hand-built scene: (shape, x, y) per colour, in COLOR_NAMES order."""
    return VQAScene(tuple(Shape(s, c, x, y, 5.0) for c, (s, x, y) in zip(COLOR_NAMES, specs)))


# red, green, blue, orange, gray, yellow
HAND = _scene(
    ("square", 10, 10),
    ("circle", 37.5, 37.5),  # exactly on both boundaries: right and bottom
    ("square", 37.4, 37.4),  # just before them: left and top
    ("circle", 22, 10),  # closest to red (12 px)
    ("circle", 69, 69),  # furthest from red
    ("square", 60, 20),
)


def test_vqa_shape_answers():
    assert answer(HAND, "shape", "red") == ("square", None)
    assert answer(HAND, "shape", "green") == ("circle", None)


def test_vqa_left_right_boundary():
    assert answer(HAND, "horizontal", "green")[0] == "right"  # x == 37.5 is not < 37.5
    assert answer(HAND, "horizontal", "blue")[0] == "left"
    assert answer(HAND, "horizontal", "yellow")[0] == "right"
    assert answer(HAND, "horizontal", "red")[0] == "left"


def test_vqa_top_bottom_boundary():
    assert answer(HAND, "vertical", "green")[0] == "bottom"  # y == 37.5 is not < 37.5
    assert answer(HAND, "vertical", "blue")[0] == "top"
    assert answer(HAND, "vertical", "gray")[0] == "bottom"


def test_vqa_closest_and_furthest():
    assert answer(HAND, "closest", "red") == ("circle", "orange")
    assert answer(HAND, "furthest", "red") == ("circle", "gray")
    assert answer(HAND, "closest", "gray") == ("circle", "green")
    assert answer(HAND, "furthest", "gray") == ("square", "red")


def test_vqa_count_includes_itself():
    assert answer(HAND, "count", "red") == ("3", None)  # red, blue, yellow
    assert answer(HAND, "count", "green") == ("3", None)
    lone = _scene(*[("circle", 10 + 10 * i, 10) for i in range(5)], ("square", 60, 60))
    assert answer(lone, "count", "yellow")[0] == "1"
    assert answer(lone, "count", "red")[0] == "5"


def test_vqa_items_cover_every_type_and_colour(vqa_scenes):
    items = all_items(vqa_scenes[0])
    assert {(i.qtype, i.color) for i in items} == set(itertools.product(QUESTION_TYPES, COLOR_NAMES))


def test_vqa_deterministic():
    a, b, c = generate_scene(rng(7)), generate_scene(rng(7)), generate_scene(rng(8))
    assert a.image().tobytes() == b.image().tobytes()
    assert all_items(a) == all_items(b)
    assert a.image().tobytes() != c.image().tobytes()


def test_render_square_pixels_exact():
    img = render([Shape("square", "blue", 20, 20, 5.0)])
    assert img.shape == (75, 75, 3) and img.dtype == np.uint8
    ys, xs = np.nonzero(nonwhite(img))
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (15, 25, 15, 25)
    assert len(ys) == 11 * 11
    assert (img[15:26, 15:26] == COLORS["blue"]).all()


def test_render_other_size_matches_block_mean(vqa_scenes):
    for scene in vqa_scenes[:5]:
        small = scene.image().astype(float)
        big = scene.image(size=300, antialias=True)
        assert big.shape == (300, 300, 3) and big.dtype == np.uint8
        block = big.astype(float).reshape(75, 4, 75, 4, 3).mean(axis=(1, 3))
        diff = np.abs(block - small)
        assert diff.mean() < 4  # only object edges differ
        # Away from edges (3x3 neighbourhood uniform at 75) the two agree.
        flat = np.ones((73, 73), bool)
        for dy, dx in itertools.product(range(3), range(3)):
            flat &= (small[dy:dy + 73, dx:dx + 73] == small[1:74, 1:74]).all(-1)
        assert diff[1:74, 1:74][flat].max() <= 1


# ---------------------------------------------------------------- section 2: captions


@pytest.fixture(scope="module")
def caption_scenes() -> list[CaptionScene]:
    return [generate_caption_scene(rng(s)) for s in range(N)]


def _true_relation(a: Shape, b: Shape) -> str:
    if abs(b.x - a.x) > abs(b.y - a.y):
        return "to the left of" if a.x < b.x else "to the right of"
    return "above" if a.y < b.y else "below"


def test_caption_counts_colours_shapes_centres(caption_scenes):
    counts = Counter(len(s.objects) for s in caption_scenes)
    assert set(counts) == {1, 2} and 0.4 < counts[1] / N < 0.6
    for scene in caption_scenes:
        colours = [o.color for o in scene.objects]
        assert len(set(colours)) == len(colours) and set(colours) <= set(COLOR_NAMES)
        for o in scene.objects:
            assert o.shape in SHAPES and o.half == 7 and o.angle == 0
            assert o.x == int(o.x) and o.y == int(o.y)
            assert 8 <= o.x <= 66 and 8 <= o.y <= 66
    all_shapes = {o.shape for s in caption_scenes for o in s.objects}
    assert all_shapes == {"circle", "square", "triangle"}


def test_caption_pair_spacing(caption_scenes):
    for scene in caption_scenes:
        if len(scene.objects) == 2:
            a, b = scene.objects
            dx, dy = abs(a.x - b.x), abs(a.y - b.y)
            assert math.hypot(dx, dy) >= 18
            assert abs(dx - dy) >= 8


def test_caption_image_shows_exactly_the_objects(caption_scenes):
    for scene in caption_scenes[:50]:
        img = scene.image()
        assert img.shape == (75, 75, 3) and img.dtype == np.uint8
        present = {tuple(p) for p in img[nonwhite(img)]}
        assert present == {COLORS[o.color] for o in scene.objects}


def test_triangle_vertices_follow_spec():
    img = render([Shape("triangle", "red", 30, 30, 7.0)])
    assert (img[23, 30] == COLORS["red"]).all()  # apex (cx, cy-7)
    assert (img[37, 23] == COLORS["red"]).all() and (img[37, 37] == COLORS["red"]).all()
    assert not nonwhite(img)[23, 29] and not nonwhite(img)[38, 30]


CAPTION_RE = re.compile(
    r"^a (\w+) (circle|square|triangle)(?: (to the left of|to the right of|above|below) "
    r"a (\w+) (circle|square|triangle))?$"
)


def test_caption_grammar_and_relation(caption_scenes):
    for scene in caption_scenes:
        m = CAPTION_RE.match(scene.caption())
        assert m, scene.caption()
        a = scene.objects[0]
        assert (m[1], m[2]) == (a.color, a.shape)
        if len(scene.objects) == 2:
            b = scene.objects[1]
            assert m[3] == _true_relation(a, b) and m[3] in RELATIONS
            assert (m[4], m[5]) == (b.color, b.shape)
        else:
            assert m[3] is None


def test_valid_captions_both_orders(caption_scenes):
    for scene in caption_scenes:
        valid = scene.valid_captions()
        assert valid[0] == scene.caption()
        for text in valid:
            assert is_correct_caption(scene, text)
        if len(scene.objects) == 2:
            a, b = scene.objects
            assert valid[1] == f"a {b.color} {b.shape} {_true_relation(b, a)} a {a.color} {a.shape}"


PAIR = CaptionScene((Shape("square", "red", 10, 30, 7.0), Shape("circle", "blue", 50, 20, 7.0)))


@pytest.mark.parametrize("text", [
    "a red square to the left of a blue circle",
    "a blue circle to the right of a red square",
    "  A Red Square   to the LEFT of a blue circle.  ",
    "a blue circle to the right of a red square.",
])
def test_is_correct_caption_accepts(text):
    assert is_correct_caption(PAIR, text)


@pytest.mark.parametrize("text", [
    "a red square to the right of a blue circle",  # wrong relation
    "a red square above a blue circle",  # true-ish but not the dominant axis
    "a blue circle to the left of a red square",  # flipped order, unflipped relation
    "a green square to the left of a blue circle",  # wrong colour
    "a red triangle to the left of a blue circle",  # wrong shape
    "a red square",  # missing object
    "a red square to the left of a blue circle to the left of a gray square",  # extra object
    "",
])
def test_is_correct_caption_rejects(text):
    assert not is_correct_caption(PAIR, text)


def test_single_object_caption():
    scene = CaptionScene((Shape("triangle", "orange", 40, 40, 7.0),))
    assert scene.caption() == "a orange triangle"
    assert scene.valid_captions() == ("a orange triangle",)
    assert is_correct_caption(scene, "A orange triangle.")
    assert not is_correct_caption(scene, "a orange square")
    assert not is_correct_caption(scene, "a orange triangle above a red circle")


def test_vertical_relations():
    scene = CaptionScene((Shape("circle", "gray", 30, 60, 7.0), Shape("square", "yellow", 35, 20, 7.0)))
    assert scene.caption() == "a gray circle below a yellow square"
    assert is_correct_caption(scene, "a yellow square above a gray circle")


def test_caption_deterministic():
    a = [generate_caption_scene(rng(3)) for _ in range(2)]
    assert a[0] == a[1] and a[0].image().tobytes() == a[1].image().tobytes()
    assert [generate_caption_scene(rng(s)) for s in range(5)] != [a[0]] * 5


# ---------------------------------------------------------------- section 3: video


PER_ACTION = 25


@pytest.fixture(scope="module")
def clips() -> dict[str, list]:
    return {a: [generate_clip(rng(1000 * i + s), a) for s in range(PER_ACTION)]
            for i, a in enumerate(ACTIONS)}


def test_actions_labels():
    assert ACTIONS == ("moving left", "moving right", "moving up", "moving down",
                       "growing", "shrinking", "rotating", "changing color")


def test_clip_frames_and_caption(clips):
    for action, group in clips.items():
        for clip in group:
            frames = clip.frames()
            assert frames.shape == (16, 75, 75, 3) and frames.dtype == np.uint8
            assert clip.caption() == f"a {clip.color} {clip.shape} is {action}"
            assert clip.color == clip.frames_spec[0][0].color
            assert all(len(f) == 1 for f in clip.frames_spec)
            assert clip.shape in SHAPES and clip.color in COLOR_NAMES


def _objects(clip) -> list[Shape]:
    return [f[0] for f in clip.frames_spec]


def _centroid(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    return np.array([xs.mean(), ys.mean()])


@pytest.mark.parametrize("action,step", [
    ("moving left", (-2, 0)), ("moving right", (2, 0)), ("moving up", (0, -2)), ("moving down", (0, 2)),
])
def test_moving_geometry(clips, action, step):
    for clip in clips[action]:
        objs = _objects(clip)
        for t in range(1, 16):
            assert (objs[t].x - objs[t - 1].x, objs[t].y - objs[t - 1].y) == step
        assert {(o.half, o.angle, o.color) for o in objs} == {(8.0, 0.0, clip.color)}
        frames = clip.frames()
        moved = _centroid(nonwhite(frames[15])) - _centroid(nonwhite(frames[0]))
        assert np.allclose(moved, np.array(step) * 15)


def test_growing_and_shrinking(clips):
    for action, (first, last) in (("growing", (4, 14)), ("shrinking", (14, 4))):
        for clip in clips[action]:
            halves = [o.half for o in _objects(clip)]
            assert halves[0] == first and halves[-1] == last
            assert np.allclose(np.diff(halves), (last - first) / 15)  # linear
            area = nonwhite(clip.frames()).sum(axis=(1, 2))
            area = area if action == "growing" else area[::-1]  # smallest first
            assert (np.diff(area) >= 0).all() and area[-1] > area[0] * 4  # pixel grid: weakly

            assert len({(o.x, o.y) for o in _objects(clip)}) == 1


def test_rotating(clips):
    rotating = clips["rotating"] + [generate_clip(rng(s)) for s in range(200)]
    rotating = [c for c in rotating if c.action == "rotating"]
    assert len(rotating) > PER_ACTION
    for clip in rotating:
        assert clip.shape in ("square", "triangle")
        objs = _objects(clip)
        assert [o.angle for o in objs] == [6.0 * t for t in range(16)]
        assert {(o.x, o.y, o.half) for o in objs} == {(objs[0].x, objs[0].y, 8.0)}


def test_rotation_is_clockwise():
    # Apex straight up; 90 degrees clockwise it must point right (+x).
    up = render([Shape("triangle", "red", 37, 37, 10.0, 0.0)])
    right = render([Shape("triangle", "red", 37, 37, 10.0, 90.0)])
    assert _centroid(nonwhite(up))[1] > 37  # the wide base is below the centre
    assert _centroid(nonwhite(right))[0] < 37  # base on the left, apex to the right
    assert nonwhite(right)[37, 46] and not nonwhite(right)[30, 46]  # apex tip at (47, 37)
    assert nonwhite(right)[28, 28] and nonwhite(right)[46, 28]  # base corners on the left


def test_changing_color(clips):
    for clip in clips["changing color"]:
        colours = [o.color for o in _objects(clip)]
        assert colours[:8] == [clip.color] * 8
        assert len(set(colours[8:])) == 1 and colours[8] != clip.color
        frames = clip.frames()
        dominant = [Counter(map(tuple, f[nonwhite(f)])).most_common(1)[0][0] for f in frames[7:9]]
        assert dominant[0] == COLORS[clip.color] and dominant[1] == COLORS[colours[8]]
        assert dominant[0] != dominant[1]


def test_object_stays_inside_canvas(clips):
    """Every frame shows as many pixels as the same object centred on the canvas."""
    for group in clips.values():
        for clip in group:
            frames = clip.frames()
            for t, o in enumerate(_objects(clip)):
                centred = render([dataclasses.replace(o, x=37, y=37)])
                assert nonwhite(frames[t]).sum() == nonwhite(centred).sum()


def test_clip_action_distribution_and_errors():
    drawn = Counter(generate_clip(rng(s)).action for s in range(400))
    assert set(drawn) == set(ACTIONS)
    with pytest.raises(ValueError, match="unknown action"):
        generate_clip(rng(0), "flying")


def test_clip_deterministic():
    a, b = generate_clip(rng(11)), generate_clip(rng(11))
    assert a == b and a.frames().tobytes() == b.frames().tobytes()
    assert len({generate_clip(rng(s)) for s in range(10)}) > 1


def _read_video(path) -> np.ndarray:
    """(T, H, W, 3) RGB frames read back with OpenCV."""
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame[..., ::-1])
    cap.release()
    return np.stack(frames)


@pytest.mark.parametrize("ext,shape", [(".mp4", (76, 76)), (".webm", (76, 76)), (".avi", (75, 75))])
def test_write_video_round_trip(tmp_path, ext, shape):
    clip = generate_clip(rng(5), "moving right")
    frames = clip.frames()
    path = write_video(tmp_path / f"clip{ext}", frames)
    assert path.exists() and path.stat().st_size > 0
    back = _read_video(path)
    # FFmpeg codecs need even sizes: 75 is padded to 76 by repeating the edge.
    assert back.shape == (16, *shape, 3)
    diff = np.abs(back[:, :75, :75].astype(int) - frames.astype(int))
    assert diff.mean() < 8
    obj = _objects(clip)[0]
    assert np.abs(back[0, obj.y, obj.x].astype(int) - COLORS[clip.color]).max() < 40  # RGB, not BGR


def test_write_video_rejects_unknown_extension(tmp_path):
    with pytest.raises(ValueError, match=r"\.gif"):
        write_video(tmp_path / "clip.gif", np.zeros((16, 75, 75, 3), np.uint8))


# ---------------------------------------------------------------- section 4: faces


@pytest.fixture(scope="module")
def faces() -> list[Face]:
    return [generate_face(rng(s)) for s in range(N)]


def test_face_parameters_follow_spec(faces):
    for f in faces:
        assert min(f.background) >= 200
        assert abs(f.cx - 37.5) <= 5 and abs(f.cy - 37.5) <= 5
        assert 20 <= f.radius <= 30
        assert f.color[0] == 255 and 156 <= f.color[1] <= 255 and f.color[2] == 0
        assert 2 <= f.eye_radius <= 4 and max(f.ink) <= 60
        assert 2 <= f.thickness <= 3
        assert 0.4 <= f.mouth_half_width / f.radius <= 0.6  # mouth ~ half the face's width


def test_face_layout(faces):
    for f in faces:
        for ex, ey in f.eyes:
            assert ey + f.eye_radius < f.cy  # upper half
            assert math.hypot(ex - f.cx, ey - f.cy) + f.eye_radius < f.radius
        pts = f.mouth_points()
        assert pts[:, 1].min() - f.thickness / 2 > f.cy  # lower half
        reach = np.hypot(pts[:, 0] - f.cx, pts[:, 1] - f.cy).max() + f.thickness / 2
        assert reach < f.radius
        corners, middle = pts[[0, -1], 1].mean(), pts[len(pts) // 2, 1]
        expected = {"positive": corners < middle, "negative": corners > middle,
                    "neutral": corners == middle}
        assert expected[f.label]


def test_face_images(faces):
    for f in faces[:100]:
        img = f.image()
        assert img.shape == (75, 75, 3) and img.dtype == np.uint8
        for y, x in ((0, 0), (0, 74), (74, 0), (74, 74)):
            assert tuple(img[y, x]) == f.background
        assert np.abs(img[int(f.cy), int(f.cx)].astype(int) - f.color).max() <= 2
        for ex, ey in f.eyes:
            assert tuple(img[int(ey), int(ex)]) == f.ink


def _dark_rows(img: np.ndarray, cols: slice, top: int) -> float:
    """Mean row of dark (ink) pixels in the given columns, below row `top`."""
    dark = img[top:, cols, 0] < 128  # face and background have R >= 200
    return float(np.nonzero(dark)[0].mean()) + top


def test_face_mouth_shape_in_pixels(faces):
    for f in faces[:100]:
        img = f.image()
        top = int(f.cy) + 1
        lo, hi = f.cx - f.mouth_half_width, f.cx + f.mouth_half_width
        corner = _dark_rows(img, slice(int(lo) + 1, int(lo) + 3), top)
        middle = _dark_rows(img, slice(int(f.cx) - 1, int(f.cx) + 2), top)
        corner = (corner + _dark_rows(img, slice(int(hi) - 2, int(hi)), top)) / 2
        if f.label == "positive":
            assert corner < middle - 1
        elif f.label == "negative":
            assert corner > middle + 1
        else:
            assert abs(corner - middle) <= 1


def test_face_labels_cover_all(faces):
    counts = Counter(f.label for f in faces)
    assert set(counts) == set(SENTIMENTS)
    assert min(counts.values()) > N / 3 * 0.7
    assert sum(min(f.background) == 255 for f in faces) not in (0, N)  # white and tinted


def test_face_mouth_differs_only_in_mouth_rows():
    pos = generate_face(rng(21), "positive")
    neg = dataclasses.replace(pos, label="negative", mouth="frown")
    a, b = pos.image(), neg.image()
    changed = np.nonzero((a != b).any(axis=(1, 2)))[0]
    assert len(changed) > 0
    assert changed.min() > pos.cy  # eyes and upper half untouched
    with pytest.raises(ValueError):
        dataclasses.replace(pos, label="negative")  # mouth must match the label


def test_face_size_and_determinism():
    f = generate_face(rng(4), "neutral")
    assert f.label == "neutral" and f.mouth == "straight"
    assert f.image(size=300).shape == (300, 300, 3)
    assert f == generate_face(rng(4), "neutral")
    assert f.image().tobytes() == generate_face(rng(4), "neutral").image().tobytes()
    assert generate_face(rng(5)) != generate_face(rng(6))
    with pytest.raises(ValueError):
        generate_face(rng(0), "happy")
