import threading

import pytest

from glasstext.backends.runtime import hidden_bars, progress_bar, run_alongside


def test_run_alongside_returns_every_part_in_order():
    with run_alongside(lambda part: part.upper(), ["a", "bc", "def"]) as future:
        pass
    assert future.result() == ["A", "BC", "DEF"]


def test_run_alongside_raises_the_work_error():
    def work(part):
        raise ValueError(f"bad part {part}")

    with run_alongside(work, ["x"]) as future:
        pass
    with pytest.raises(ValueError, match="bad part x"):
        future.result()


def test_run_alongside_uses_one_torch_thread_while_the_block_runs_then_the_default():
    torch = pytest.importorskip("torch")
    default = torch.get_num_threads()
    recorded = threading.Event()
    proceed = threading.Event()
    seen = []

    def work(part):
        seen.append(torch.get_num_threads())
        if part == "during":
            recorded.set()
            proceed.wait(timeout=10)

    with run_alongside(work, ["during", "after"]):
        assert recorded.wait(timeout=10)
        # Let the first part finish once the block has been left.
        threading.Timer(0.3, proceed.set).start()
    assert seen == [1, default]


def test_hidden_bars_hide_only_this_threads_bars():
    with hidden_bars():
        assert progress_bar(3, "inside", True).disable
        other = []
        thread = threading.Thread(target=lambda: other.append(progress_bar(3, "other", True)))
        thread.start()
        thread.join()
        assert not other[0].disable
        other[0].close()
    shown = progress_bar(3, "after", True)
    assert not shown.disable
    shown.close()


def test_run_alongside_skips_the_parts_left_when_the_block_fails():
    started = []
    first_running = threading.Event()
    proceed = threading.Event()

    def work(part):
        started.append(part)
        first_running.set()
        proceed.wait(timeout=10)
        return part

    with pytest.raises(KeyboardInterrupt), run_alongside(work, ["a", "b", "c"]):
        assert first_running.wait(timeout=10)
        threading.Timer(0.3, proceed.set).start()
        raise KeyboardInterrupt
    assert started == ["a"]
