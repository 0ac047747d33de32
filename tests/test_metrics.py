from training.metrics import character_error_rate, word_error_rate


def test_error_rates_count_edits_over_reference_length():
    assert character_error_rate(["abcd"], ["abxd"]) == 0.25
    assert character_error_rate(["ab", "cd"], ["ab", ""]) == 0.5
    assert word_error_rate(["the cat sat"], ["the cat sat down"]) == 1 / 3
    assert word_error_rate(["a b"], ["a b"]) == 0.0
