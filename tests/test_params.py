import pytest

from arena.errors import SpecError
from arena.params import Param, format_spec, parse_spec, resolve


def test_parse_spec_roundtrip():
    name, values = parse_spec("blur:kernel=gaussian, sigma=1.6,noise=2")
    assert name == "blur" and values == {"kernel": "gaussian", "sigma": "1.6", "noise": "2"}
    assert parse_spec(format_spec(name, values)) == (name, values)
    assert parse_spec("tv") == ("tv", {})


@pytest.mark.parametrize("bad", ["", ":a=1", "tv:lam", "tv:=3"])
def test_parse_spec_rejects(bad):
    with pytest.raises(SpecError):
        parse_spec(bad)


def test_coerce_types_and_bounds():
    p = Param("lam", 0.1, "weight", min=0.0, max=1.0)
    assert p.coerce("0.5") == 0.5
    for bad in ("2", "-1", "nan", "inf", "abc", True):
        with pytest.raises(SpecError):
            p.coerce(bad)
    n = Param("iterations", 10, "n", min=1, max=100)
    assert n.coerce("7") == 7 and n.coerce(7.0) == 7
    with pytest.raises(SpecError):
        n.coerce("7.5")
    b = Param("flag", True, "b")
    assert b.coerce("false") is False and b.coerce("yes") is True
    with pytest.raises(SpecError):
        b.coerce("maybe")
    c = Param("factor", 4, "f", choices=(2, 4, 8))
    assert c.coerce("8") == 8
    with pytest.raises(SpecError, match="choose one of 2, 4, 8"):
        c.coerce("3")


def test_resolve_lists_valid_keys():
    params = (Param("a", 1, "a"), Param("b", "x", "b"))
    assert resolve(params, {"a": "3"}, "m") == {"a": 3, "b": "x"}
    with pytest.raises(SpecError, match="valid keys: a, b"):
        resolve(params, {"c": 1}, "m")
