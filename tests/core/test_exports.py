from kehu.core.exports import spreadsheet_safe


def test_formula_starts_are_neutralised() -> None:
    for text in ["=1+1", "+86 138", "-2", "@SUM(A1)", "\tx", "\rx"]:
        assert spreadsheet_safe(text) == "'" + text
    assert spreadsheet_safe("张三") == "张三"
    assert spreadsheet_safe(None) == ""
    assert spreadsheet_safe(42) == "42"
