"""Elections: Scottish STV (2007 rules), instant runoff and approval, checked against published
counts, hand-worked counts whose arithmetic is shown, and properties."""

import hashlib
import json
import random
from collections.abc import Sequence
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cooperative.governance.elections import (
    SCALE,
    RaceResult,
    approval,
    format_votes,
    instant_runoff,
    lot_order,
    scottish_stv,
)

Ballots = list[list[str]]


def units(votes: str) -> int:
    """ "12.34567" (or "12") in 1/100000 of a vote."""
    return int(Decimal(votes) * SCALE)


def decode(data: str, names: Sequence[str], separator: str = "") -> Ballots:
    """Ballots from tokens like "3*7.8.9" (three ballots ranking candidates 7, 8, 9; numbered from
    1 in `names`); without "n*" a token is one ballot. With no separator each digit is one
    candidate."""
    ballots: Ballots = []
    for token in data.split():
        count, _, ranking = token.rpartition("*")
        marks = ranking.split(separator) if separator else list(ranking)
        ballots += [[names[int(m) - 1] for m in marks]] * int(count or 1)
    return ballots


def stage_table(table: str) -> list[tuple[list[int], int]]:
    """Rows of "v1 v2 ... vn | non-transferable" as (votes in units, non-transferable in units)."""
    rows = []
    for line in table.strip().splitlines():
        votes, nt = line.split("|")
        rows.append(([units(v) for v in votes.split()], units(nt)))
    return rows


def totals(result: RaceResult, names: Sequence[str]) -> list[tuple[list[int], int]]:
    return [([units(r.votes[n]) for n in names], units(r.non_transferable)) for r in result.rounds]


def grouped(*groups: tuple[int, list[str]]) -> Ballots:
    return [ranking for count, ranking in groups for _ in range(count)]


# --- Published Scottish STV counts ------------------------------------------------------------

# The Green Party of the United States steering committee election of 2005-07-24: 94 ballots,
# 13 candidates, 4 seats. Ballots and the expected Scottish STV count are the test fixtures of
# Droop (Jonathan Lundell's STV counter, which implements SSI 2007/42 rules 45-52 in five-decimal
# fixed point): github.com/jklundell/droop, test/blt/SC.blt and
# test/ref/dump/SC-scotland-fixed-p5-d5.txt. Droop's round k is our stage k + 1.
GPUS = [
    "Budd Dickinson",
    "Kirit Mookerjee",
    "Tom Sevigny",
    "Pat LaMarche",
    "Michael Piacsek",
    "Write-In 2",
    "Rebecca Rotzler",
    "Kristen Olsen",
    "Jason Jones",
    "Write-In 1",
    "Steve Greenfield",
    "Jimmy Leas",
    "Steve Kramer",
]
GPUS_BALLOTS = """
    19*7.8.9.11.12 3*4.3.13.1 2*1.4.13.7 2*3.13.1.2 2*4.1.5.13.2.3 2*4.1.13.7.3.5.2
    2*7.1.8.9.13.3.2.4.12.5.11 2*7.8.11.9 2*13.1.2.7.4.5.3 1.4.13.2.7.5.3.9.8.12.11 1.4.13.5.3.2
    1.13.3.4.7.5.2 1.13.3.7.2.4.5 2.3.4.1.13.7 2.4.13.5 2.7.8.12.13.11.1.5.9 3.1.4.2.13.7.9.5.8
    3.1.4.13 3.1.4.13.2.7 3.4.7.2.12.13.8.1.5 3.13.1.4.2.7.5 3.13.4.1.7.2.5 4.1.2.8.3
    4.1.2.13.9.5 4.1.13.3.2.7.8 4.2.13.1.3 4.3.1.2.11 4.3.13.1.7 4.3.13.8 4.5.2.3.13
    4.5.13.3.2.1 4.7.8.2 4.7.13.5 4.8.7.5.13.2.1.3.9 4.13.2.7 4.13.2.7.1.8 4.13.5.2.1.3
    5.1.13.3.2.4.7 5.13.2.7.4.1 7.3.4.13.1.5 7.4.2.13 7.5.4.8.11.2.13.1.3.9.12 7.8.4.9.12
    7.8.9.3.12.2.13.5.1.4 7.8.9.11 7.8.9.12.11 7.8.11.9.12 7.8.12.1.13.9.2.4.11.5
    7.9.8.12.11.2.13 8.4.7.11.13.9 9.11.8.7 13.1.4.2.5.3.7 13.1.7.4 13.2.4.7.5.1 13.3.4.1.2.5.7
    13.3.4.1.7.2.5 13.3.5.2 13.4.1.2 13.4.1.3 13.4.3.1.2.5 13.4.7.2.8 13.4.7.3.1.5.8.2.9
    13.5.2.1.7.3.8 13.5.2.4.1.3.7 13.5.7.2.4.1 13.7.3.2.5.4.1 13.7.5.4.2.1
"""
# Droop's totals at the end of rounds 0-11, candidates in the order of GPUS | non-transferable.
GPUS_STAGES = """
6       3       8        22 2       0 33 1        1       0 0 0 18       | 0
6.84848 3.42424 8.42424  22 2.42424 0 19 12.45448 1.42424 0 0 0 18       | 0
7.80300 3.56060 9.24240  19 2.69696 0 19 12.72720 1.42424 0 0 0 18.54544 | 0
7.80300 3.56060 9.24240  19 2.69696 0 19 12.72720 1.42424 0 0 0 18.54544 | 0
7.80300 3.56060 9.24240  19 2.69696 0 19 12.72720 1.42424 0 0 0 18.54544 | 0
7.80300 3.56060 9.24240  19 2.69696 0 19 12.72720 1.42424 0 0 0 18.54544 | 0
7.80300 3.56060 9.24240  19 2.69696 0 19 12.72720 1.42424 0 0 0 18.54544 | 0
7.80300 3.56060 9.24240  19 2.69696 0 19 14.15144 0       0 0 0 18.54544 | 0
8.80300 3.69696 9.24240  19 0       0 19 14.57568 0       0 0 0 19.68180 | 0
9.01084 3.95360 9.45496  19 0       0 19 14.57568 0       0 0 0 19       | 0.00472
9.36448 0       10.59132 19 0       0 19 15.61032 0       0 0 0 19       | 1.43368
0       0       16.62204 19 0       0 19 16.59988 0       0 0 0 19       | 3.77788
"""


def test_gpus_2005_matches_droops_scottish_count_stage_by_stage() -> None:
    result = scottish_stv(decode(GPUS_BALLOTS, GPUS, "."), GPUS, seats=4, seed="gpus-2005")

    # 94 valid ballots, 4 seats: 94 // 5 + 1 = 19
    assert result.valid_ballots == 94 and result.quota == "19.00000"
    assert totals(result, GPUS)[:12] == stage_table(GPUS_STAGES)
    assert result.elected == ["Rebecca Rotzler", "Pat LaMarche", "Steve Kramer", "Tom Sevigny"]
    # Rotzler's surplus 33 - 19 = 14 over 33 votes: 14/33 = 0.424242... -> 0.42424
    assert result.rounds[1].transfer_values == {"1.00000": "0.42424"}
    # LaMarche's surplus 3 over 22: 0.136363... -> 0.13636
    assert result.rounds[2].transfer_values == {"1.00000": "0.13636"}
    # Kramer reaches 19.68180 at stage 9 (surplus 0.68180): first-preference papers pass at
    # 0.68180/19.68180 = 0.034641... -> 0.03464; papers he received from LaMarche at 0.13636 pass
    # at 0.68180 x 0.13636 / 19.68180 = 0.0047237... -> 0.00472
    assert result.rounds[8].elected == ["Steve Kramer"]
    assert result.rounds[9].transfer_values == {"1.00000": "0.03464", "0.13636": "0.00472"}
    # Stages 4-7 exclude the four candidates with no vote; which order is the lot's, the totals
    # are the same either way.
    assert {r.candidate for r in result.rounds[3:7]} == {
        "Write-In 2",
        "Write-In 1",
        "Steve Greenfield",
        "Jimmy Leas",
    }
    # Stage 13 excludes Olsen (16.59988 < 16.62204), which leaves one continuing candidate for
    # one seat: Sevigny is elected and, under rule 52(2), "no further transfer shall be made".
    # (Droop transfers Olsen's papers anyway: Sevigny 18.59172, non-transferable 18.40808.)
    last = result.rounds[12]
    assert last.excluded == ["Kristen Olsen"] and last.elected == ["Tom Sevigny"]
    assert (last.votes["Tom Sevigny"], last.non_transferable) == ("16.62204", "3.77788")
    assert len(result.rounds) == 13 and len(result.tie_breaks) == 3


# Glasgow City Council, Anderston/City ward, 3 May 2007: the first Scottish local elections under
# SSI 2007/42. The full preference data the council published, as redistributed in Droop's
# fixtures (github.com/jklundell/droop, test/blt/scotland/Anderston-City-2007.blt), encoded here
# one digit per preference (candidates numbered as in ANDERSTON).
# Published result (en.wikipedia.org/wiki/2007_Glasgow_City_Council_election; summarised at
# ukgeneralelection2020.blogspot.com/2015/08/council-by-elections-8th-august.html): first
# preferences SNP 1632 (MacKay), Lab 1291 (Braat) / 1177 (Matheson), Grn 880 (Baker), LD 806,
# Con 486, Solidarity 285, SSP 198, Ind 145; elected SNP, Lab, Lab, Grn; at the sixth stage
# "Lab 1291, Grn 1247, LD 1050 with a 40 votes Lab surplus".
# Stage totals to five places: Droop, test/ref/dump/scotland/Anderston-City-2007-scotland-fixed-
# p5-d5.txt, rounds 0-6.
ANDERSTON = [
    "Nina Baker",
    "Erin Boyle",
    "Philip Braat",
    "Dave Holladay",
    "Akhtar Khan",
    "Ann Laird",
    "Craig MacKay",
    "Gordon Matheson",
    "Peter Murray",
]
ANDERSTON_BALLOTS = """
    149*1 11*12 2*123 1234 123456789 1236 12376 12378 124 124678935 124695873 1247 12579 12593
    4*126 126348 12679 126873495 127 12734 127534896 128 2*1286 129735468 12*13 132 1326
    132784569 13286 134 4*135 1358 13587 13598 11*136 136248 136528 5*1368 13682 13684 136842957
    136849527 136849752 136854972 136874 136897 2*137 3*1376 137856429 16*138 1382 138264975
    1385 13857469 9*1386 138629457 13865 138675942 138679452 138697425 138745692 13876 1389 1396
    13986 10*14 142 143692587 1438 143896 145679328 145769 5*146 14623 146238 146597 1467
    2*146738295 14675 14683 3*147 1478 1479 14869573 149 149368 1495 8*15 3*153 15328 2*1537
    1539 154 1542368 154386792 154679832 5*156 1567 156789342 156978 156987324 3*157 1574 1578
    2*1579 157932648 157964832 158 1583 158639742 15867392 13*159 159387642 4*1596 159638
    159638274 159642387 159674382 1597 2*15976 15983 73*16 8*162 2*16238 162385947 162389547
    162438597 162438795 1627 1629 18*163 1637 12*1638 2*16382 163824597 16384 163849572 16385
    2*16387 163879542 2*16389 163895724 163897 163897542 16398542 7*164 1642 164389257 1647
    164873 2*1649 164973852 164983275 3*165 1653987 165938 16594 28*167 2*1672 16724 16728
    167298345 167328459 16735 167384592 167389452 16743 167438 167438529 167459 2*1675 2*1678
    16782359 16783 167845392 16789 2*167894235 3*1679 2*16795 167983542 167984532 10*168 1682
    11*1683 16832 168329457 168349572 168594 2*1687 168743592 2*16893 14*169 2*1692 16923 1693
    169458732 4*1695 169542378 169547238 3*1697 169843572 25*17 3*173 1732 2*1736 2*1738
    173846295 17395 5*174 1743 1749 174983625 175 1756 1758 3*1759 17594 17596 1759638 175964
    15*176 2*1762 176243895 176254 3*1763 17634 176498532 176549832 176583492 17682 176835
    5*1769 6*178 1783 17835649 17859 17893546 1789523 7*179 179386254 3*1795 179546 2*17956
    2*1796 17965 179832645 3*18 3*183 1832 18346 183576 18359 3*1836 183745962 183749562 2*185
    186 186539 18679354 2*187 1872 187934562 189 189327465 18935 16*19 192 193685274 193854672
    194 1945 19457 1946 11*195 2*1953 1954 195476832 4*1956 19567 195683742 1957 19574 6*196
    1963 19638 1965 2*1967 5*197 2*1973 197358 19746 2*1975 197538642 197562 1976834 197863 198
    198354672 1985 1986573 198763 174*2 23*21 3*213 21367 2*21368 6*214 2*2146 9*216 2163 21637
    2*2164 21643 21647 216549783 2167839 2173 217486359 2175 21783 2179 218637495 219 10*23
    2*231 2318 234 234896517 3*236 2361 236184975 236718495 2368 23681 23681495 236841 236841795
    236851947 236871594 236871954 237 237896145 7*238 2381 23816457 4*2386 238614 21*24 5*241
    2*2416 243618 2438 243856791 245 245196738 4*246 3*2461 2*24617 24638 2468 247613859 248
    248367195 258 2*259 19*26 11*261 261348759 261358 261387495 2*2614 26154 26173849 2*2618
    261987 5*263 2637 2638 2*26384 7*264 6*2641 2643 2647 2648 26481 3*267 3*2671 26714 267183
    267389514 267419538 267514983 2*2678 267951483 3*268 2683 26831 268341 268379415 2684 13*27
    271349658 2714 271436895 2715 271968 3*274 27419 27438 274683 274695138 6*276 27614
    276149538 2763 276419538 2765 278 2781 2784 27893 2*279 27948 4*28 2*281 281346975 28136
    2814 281634 5*283 2834 283671495 283971645 2*284 2863 28976 29 294316785 298 304*3 19*31
    2*312 3126 312689547 3128 3148 315 3154 315498762 2*3156 315798642 315869427 31598462 6*316
    316257894 2*3164 316589472 316724895 8*3168 31684 316849752 2*31689 2*317 3176 31762 2*3178
    31789 10*318 2*3182 4*3186 31862 2*31864 31867 31869 318762 318765924 318792456 3189
    318954672 318965472 2*319 3198 319856 9*32 4*321 321567894 321687945 321748965 321864597
    321864957 324 3256 4*326 3261 3264 327 327614895 3278146 327816 3*328 32815976 3284
    328495671 3285416 4*3286 32861 328619754 3289 3*34 341 3417 341862975 342 342178 3426 346
    347 34791682 3*348 3481 348169 3482 9*35 351 351689472 354 3*356 2*3568 356891472 3*357 3571
    3*3578 3578921 12*358 4*3581 35816 358167942 358194276 2*3586 35861 35867 35871 4*3589
    358916742 358961 2*359 35987124 20*36 6*361 3614 3615 361785 36184 3618957 4*362 3624 2*3627
    2*364 36418 2*367 3671 367128945 3672 3*3678 367824195 367829145 367859 367859124 36795421
    20*368 5*3681 368124597 368127 368145927 2*3682 36821 368214597 2*3685 36857 2*3687
    368715942 2*3689 24*37 3*371 371289 3718 37186 4*372 3724 374 37412 374586192 2*375 2*37568
    375689142 4*376 376812549 376859412 15*378 2*3781 378152469 378169542 2*3782 378561 3786
    378641259 378654129 4*3789 378961542 3796 3798 37981652 299*38 33*381 2*3812 2*38126 381267
    381267549 3*3814 381467 381467952 3*3815 381564927 381567 381569247 381597642 6*3816
    38162957 38164 381642795 381647592 381672495 4*3817 381756942 381764925 3*3819 381954672
    38196 381964752 381965 10*382 3*3821 3824 382416 3825 3*3826 38267 3827 382716 7*384
    384125679 384165729 384167295 384261957 3845 3846217 2*3849 20*385 3*3851 2*385124679
    385146972 38516 38516927 3851962 385216749 3*3856 38567 38569 3857 385796124 6*3859
    385912674 385974621 23*386 19*3861 38612 386127945 2*38614 3861495 38615 386174295 5*3862
    3*38621 386214 386214957 386217459 38624 2*3864 386571 38659 2*3867 38671259 4*3869 15*387
    3*3871 387149562 387192654 2*3872 387261954 3875 387596124 3*3876 38761 387614529 387614952
    2*3879 387921465 38795 387964512 8*389 6*3891 389142657 3892 2*3895 389567421 3896 389657142
    3*39 391 394178256 39561 3958 2*398 3981 398564172 21*4 10*41 412 412386 4126 412673859
    412678 413269587 2*4136 413627859 41368 41368592 415683972 4159 6*416 4163 41673 416792835
    2*41683 2*417 417368925 4179 417956832 417985362 4186 6*42 421 42138 42167 423 42368 426
    4265 4267 426781395 2*43 43172 435 436 43682 436891 438 4382 4385 4386 45 4591 4*46 7*461
    46159 2*4617 461875932 461895372 2*462 46218 4628 46321 4638 463812957 463871 2*467
    467312895 468731 3*47 2*471 471265983 47162 473568921 476213589 479521386 479631852 481 4816
    2*483 487 2*49 49138 492618375 495 495138762 4961 496817523 2*497 497516832 53*5 9*51
    512479863 2*5138 513896 5139 51398 514 51437869 3*516 2*516784239 516943872 51697 6*517
    517369 51749 3*5179 51798632 518 518639 4*519 51937 51946 519476382 5196 5197 5198 5217 5296
    5297 4*53 531789 532146789 537 5378 5379 2*538 538162479 2*5387 538714692 3*5389 538976124
    539 539784621 541 543 543182679 547 5471 5476 5479 54791 561 5618 5619 561972348 561974 5627
    567139 5674 5678 56781329 568 3*569 5698 18*57 3*571 5714 571469382 2*5716 5719 571968324
    572 5721 573 5739 2*574 574683219 576194 5764 576812349 57698341 2*578 578126 578139264 5783
    578319264 578369142 5789 5*579 5*5791 579146 2*57916 579836412 5*58 581 3*583 583496712 5836
    583964127 584 3*587 587312964 58739 587631294 589136472 7*59 3*591 5913 5916 4*5917
    591746328 59176 591764382 5927 2*593 59316 5938 2*594 594162783 59417 596 5961 5963 5964
    59678 5968 3*597 4*5971 5971368 597148362 59716 597381 597381462 2*5973816 597468312 59761
    597634812 5978 598 598314762 598316742 2*5987 119*6 67*61 9*612 6123 61238 612387549 61239
    2*6124 6127 612834795 612974583 5*613 613287 2*6134 613487295 6135 6137 14*6138 2*61382
    613824957 613827954 61385 61387 613879524 613928 17*614 6142 6147 614738 614783529 614837
    6149 614975382 614983527 7*615 2*6157 6158 6159247 615947832 10*617 2*6172 617385 6174
    2*6175 2*6178 61783 617832459 617835294 4*6179 617945238 8*618 6182 618234597 3*6183
    618349527 618527 3*6187 618739524 61875 618793425 9*619 6193 619543827 619574382 619578324
    3*6197 619725 6198 6198375 61985 13*62 7*621 621348975 62138 621387 621387594 5*6214
    621473859 621843 6219 4*623 2*6231 6234 2*6238 62381 3*624 2*6241 6241738 6*627 2*6271
    627183 62783 2*628 4*6283 628314 62831957 629 6291 13*63 15*631 2*6312 631278954 631287549
    631482975 6317 63175 3*6318 631842795 631874 3*632 6321 632148 632148795 63218 6328 63281
    6341 6351 4*637 63712 6372 6372184 21*638 7*6381 638124579 638127459 638127945 638129754
    63814 638147529 638174952 63819 5*6382 638214957 638215947 638271945 3*6384 63841 638471529
    2*6387 63871 63872 638721954 638791 2*6389 638951724 638954217 639 6391 6392 7*64 5*641
    2*6412 64127 641273895 6413 641358792 64172 641795 64195 642 6421 64231 6427 642718359 643
    643281 3*6438 643851 645839127 647 64713 647813529 648 6483 6487 649 649175 65 4*651 651274
    651839247 2*6519 65193 651938247 2*653 653897214 653897421 65412983 654791238 2*657 6574
    657921384 65978 25*67 21*671 2*6712 67124 671245389 2*6713 671382495 6714 671495382 6715
    67159 2*67183 6719 2*67195 671954238 6*672 2*6724 4*673 67314 673148592 6735 67358 2*6738
    673812495 67385 674 6741 674159 67419 3*675 2*6751 2*6752 67531 675419832 675498321 6759
    8*678 6781 2*67813 67821 2*6783 67843 3*6791 679185324 67921 679831542 12*68 5*681 6813
    2*68134 681352 6817 3*682 682134795 682913457 14*683 11*6831 4*6832 2*68321 683214759 2*6834
    68341 6837 68371 683741259 68391 68413 685 4*687 6873 689132457 69 5*691 69134 691573482
    691738425 691853 6938 694 695 6951 697153482 69724 697412 698 6981 698123457 69873145 476*7
    82*71 3*712 712346985 712368 712368459 7124 712436895 712456983 71246 712465389 712465983
    7125 712638459 6*713 71348965 7135 71358462 2*7136 3*7138 713824 713856249 71386 71386952
    713896452 7139856 11*714 7145 714526389 714569328 71459 714596 7145962 714596328 7146 714625
    4*7149 714923568 71496 16*715 7152 71524 715348962 715496238 3*7156 715634 71568 71569
    715694238 13*7159 715924 715942638 71596 715962483 715964382 39*716 3*7162 71624 716249583
    71638 716382 4*7164 716423895 716489532 2*7165 71652 71654 5*7168 71682 3*71683 716832495
    8*7169 716925384 2*71695 716958 716983452 5*718 718236495 71829 3*7186 718634 718953642
    718963 13*719 719386542 7194 71945 7*7195 719562348 719564832 3*7196 71963 71965 719653842
    719654 7198 14*72 8*721 3*7214 72146 7216 721638 72164 7219 723 7231 723489651 723681954
    7238 4*724 7241 7241695 7246 725 7254 7256 4*726 726145893 7263 7268 726914835 726943851
    3*728 728164395 7286 728613459 2*729 7291 7296 7298361 22*73 5*731 7312 73128 7314 73148
    3*7316 73168459 7318 7319 3*732 7325 732698514 732816459 732895416 734 7349 735 735468192
    7356 73591 6*736 7368 7368142 73682 20*738 7*7381 738126459 738162459 7382 738214569 73826
    7384 73841 738694125 2*7389 73891 7389612 738961245 738962 739 739865421 10*74 3*741 2*7412
    7416 741623895 741693 7418 7419 74195 742 74216 74239 743 7432 745 7451 745619283 745916
    2*746 2*7461 74623 748 2*749 39*75 31*751 751234689 751296483 7513 751384692 75146 751469238
    751498632 2*7516 751638 751649832 3*7518 8*7519 75193 751942368 75194382 751946832 75196
    751962843 75198 2*752 752149638 7526 7529 8*753 753146892 7532 75321689 7536 7538 753819624
    7539 3*754 754196238 75421698 7543 754326891 7549 754921 754961238 5*756 7561 756123489 7563
    2*7564 7568 756912384 756983412 3*758 7581 75814369 758329614 758392 758492136 758964321
    26*759 8*7591 75912 759124863 2*75914 759146283 759146823 759148623 759164238 2*7593 75931
    2*7594 759416238 75943182 5*7596 75961 2*759612438 75961384 7598 42*76 19*761 3*7612 4*7613
    761324598 761354892 2*76138 761382594 761384592 761389524 7*7614 761432589 761432895
    761453829 761495238 2*7615 761593842 4*7618 2*7619 76192834 76194 761953842 761958324
    761983542 11*762 4*7621 76214 762148395 2*7623 762354819 3*7624 7629 7*763 7632 7635 2*7638
    76381 763812549 76389 763891245 3*764 3*7641 764185392 764195238 764195832 7642 2*76431
    764381259 764389521 764983512 8*765 765138294 765184 7653 765419832 765491238 765831942 7659
    76591 765928134 4*768 3*7681 3*7683 76831 768312495 768321 2*7685 76892 768954123 2*769
    2*7691 769148352 769154 7692 769215 7694 76951 769541382 7698 76983 20*78 4*781 7812
    781236495 7813 781352649 2*7816 781642 2*782 7826 7829 15*783 4*7831 783146529 783162459
    783162495 783196 3*7832 783216 783261 783264195 783412695 2*7835 783569142 783569214
    783591264 2*7836 78362 2*783652194 7839 783915624 783961254 3*784 7841 78429 5*785 7851
    785142396 2*7856 4*786 2*7861 4*7863 786312495 78632 7864 2*786543219 78693 3*789 7891 78935
    7895 2*7896 78965 17*79 9*791 2*7912 7912453 79138 7914 791465283 3*7915 7915638 791564 7916
    791638542 791645 791863452 2*792 793 2*7931 79316 7932146 2*794 79415 10*795 10*7951 795146
    79516 795164382 795183 795316428 3*7954 79541 795413268 795416238 3*7956 795614283 795638142
    795641 795684321 796 3*7961 2*7963 7965 79651 796541328 796813425 796834512 798 7981 79813
    7982 7983 79831 798316542 798365124 7986 798623145 79865 389*8 10*81 812 3*813 2*8134
    813452679 81346 8136 81367 3*8137 813762495 8139 813965427 4*815 8154 6*816 3*8163 8164
    816549 816745932 816934527 2*817 3*8173 8174 819 10*82 821 2*823 8231 823169574 8234 8235
    2*8236 82361 823671954 8239 824173695 824361759 825 826 826134957 2*8263 827 8276 263*83
    26*831 8312 831246957 83126 831264579 8314 3*8315 83159 7*8316 831624957 8316472 831649527
    831695247 83172 831764259 8317965 7*832 8321 832146759 832156974 832165479 832167459
    832169457 832197645 832415769 832456791 832561794 7*8326 832614 83261594 8327 6*834 2*8341
    8345 834791265 14*835 2*8351 835149 835194672 835196472 8352 2*8354 8356 835697412 835712469
    83579164 835794621 2*8359 835912467 27*836 15*8361 83614 836154792 83619 836192457 3*8362
    83621 836214 836214597 836275491 836279451 3*8364 8365 836514792 8365719 6*8367 836712594
    2*8369 836912457 836954 836954271 13*837 3*8371 837156 837165 8374 8375 2*83752 3*8376
    837619425 837695412 4*8379 8379512 837962154 6*839 8391 839124567 8394 2*8395 839516472 8396
    839612457 839672514 83976541 2*84 8423671 8473 3*85 851 8512 8513 851346972 8517 2*853 8531
    853146792 853169 8532 8536794 8537 85396 856 8563 8569 857 8576 2*859 859132467 8593 13*86
    10*861 8612 2*8613 861342975 861542397 2*8617 2*862 862139457 86234 10*863 8631 863124957
    86317 8632 863214795 86324 863724159 8639 864 865 2*8651 2*867 8672 86723 867235941
    867312945 86754 86931 31*87 4*871 2*8714 8715 871562493 2*8716 87164 871934625 10*873 3*8731
    873126 873192 2*8732 8734 4*8736 87362 2*8739 874 87419 8743 3*875 8751 875316 3*876 8762
    876231954 87631259 876341295 8764 8765 4*879 879536 2*89 2*891 8913 891356 891765432
    89314672 8935 89372 89375 895 2*8953 89531 895312467 896 89635 896721345 897 897314625
    8975631 49*9 14*91 9125 9127 9132 913274685 9136 3*914 9146 2*9147 3*915 91538 9157 91574
    915768342 3*916 2*9163 9168 6*917 91746 9175 918 9183 92 92358 3*93 9318 936 9361 937
    938165742 94 941 945761 9461 946132578 9462138 2*95 10*951 3*9517 95176 951873462 952 953
    95417682 954783612 956 9561 4*957 2*9571 957126438 95714 95716 95764 957831642 2*96 2*961
    9614 9618 96183 962 9627 9641 967 967154 96837 5*97 2*971 9715 97156 9716 97231 973861245
    974 975 9751 975164382 2*976 976145 978316542 9785 978531 2*98 2*981 2*983 2*9831 9835
    9836152 983672415 983716245 9871 9871534 9875 987654321
"""
ANDERSTON_STAGES = """
880        486       1291       145       285       806       1632 1177       198       | 0
927.98248  495.99635 1306.68658 150.84402 317.29590 836.91179 1381 1194.99343 215.07069 | 73.20404
974.67417  511.45772 1318.99416 0         319.91106 866.68074 1381 1200.14722 228.37827 | 98.74194
1033.51892 515.76530 1328.76311 0         367.75508 890.37243 1381 1220.83891 0   | 161.97153
1163.43655 524.84183 1366.14649 0         0         929.13992 1381 1259.37681 0   | 276.04368
1247.97372 0         1421.06923 0         0         1050.13919 1381 1291.45334 0  | 508.34980
1251.77919 0         1381       0         0         1054.23531 1381 1312.04255 0  | 519.91821
"""


def test_glasgow_2007_anderston_city_elects_the_published_councillors() -> None:
    ballots = decode(ANDERSTON_BALLOTS, ANDERSTON)
    result = scottish_stv(ballots, ANDERSTON, seats=4, seed="anderston-city-2007")

    first = {
        "Craig MacKay": 1632,
        "Philip Braat": 1291,
        "Gordon Matheson": 1177,
        "Nina Baker": 880,
        "Ann Laird": 806,
        "Erin Boyle": 486,
        "Akhtar Khan": 285,
        "Peter Murray": 198,
        "Dave Holladay": 145,
    }
    assert {n: units(v) // SCALE for n, v in result.rounds[0].votes.items()} == first
    # 6900 valid ballots, 4 seats: 6900 // 5 + 1 = 1381
    assert result.valid_ballots == 6900 and result.quota == "1381.00000"
    assert set(result.elected) == {"Craig MacKay", "Philip Braat", "Gordon Matheson", "Nina Baker"}
    assert totals(result, ANDERSTON)[:7] == stage_table(ANDERSTON_STAGES)
    # MacKay's surplus 1632 - 1381 = 251 over 1632: 0.153799... -> 0.15379; 476 of his papers
    # name no one else: 476 x 0.15379 = 73.20404 non-transferable
    assert result.rounds[1].transfer_values == {"1.00000": "0.15379"}
    sixth = result.rounds[5]
    assert sixth.elected == ["Philip Braat"]
    assert [units(sixth.votes[n]) // SCALE for n in ("Gordon Matheson", "Nina Baker")] == [
        1291,
        1247,
    ]
    assert units(sixth.votes["Ann Laird"]) // SCALE == 1050
    assert (units(sixth.votes["Philip Braat"]) - units(result.quota)) // SCALE == 40
    # Stage 8: Laird is excluded and the two continuing candidates fill the two seats left, so
    # her papers are not transferred (rule 52(2)); Droop transfers them before electing.
    assert result.rounds[7].excluded == ["Ann Laird"]
    assert set(result.rounds[7].elected) == {"Gordon Matheson", "Nina Baker"}
    assert result.tie_breaks == []


# Droop's fixture for the rule 51(2) tie: test/blt/scotland/weak-defeat.blt and
# test/ref/dump/scotland/weak-defeat-scotland-fixed-p5-d5.txt (2 seats).
WEAK_DEFEAT_STAGES = """
1 2 3 4 5 | 0
0 3 3 4 5 | 0
0 0 3 4 5 | 3
"""


def test_equal_lowest_is_settled_by_the_earlier_stage() -> None:
    names = ["A", "B", "C", "D", "E"]
    ballots = grouped((1, ["A", "B"]), (2, ["B"]), (3, ["C"]), (4, ["D"]), (5, ["E"]))

    result = scottish_stv(ballots, names, seats=2, seed="weak-defeat")

    # 15 ballots, 2 seats: 15 // 3 + 1 = 6. Stage 2: A (1) out, its paper to B (3). Stage 3: B and
    # C tie on 3; at stage 1 B had 2 and C 3, so B is excluded and its 3 papers exhaust.
    assert result.quota == "6.00000"
    assert totals(result, names)[:3] == stage_table(WEAK_DEFEAT_STAGES)
    assert result.rounds[2].action == "B excluded (tied with C; fewer votes at stage 1)"
    # Stage 4: C out; D and E fill the two seats without a quota and nothing is transferred.
    assert result.excluded == ["A", "B", "C"] and result.elected == ["E", "D"]
    assert result.rounds[3].non_transferable == "3.00000" and result.tie_breaks == []


# The food election of en.wikipedia.org/wiki/Single_transferable_vote, as used with Scottish STV
# by STVPoll's tests (github.com/VoteIT/STVPoll, stvpoll_testing/test_wikipedia_example.py):
# elected chocolate, orange, strawberry.
FOOD = ["orange", "chocolate", "pear", "strawberry", "bonbon"]
FOOD_BALLOTS = grouped(
    (4, ["orange"]),
    (2, ["pear", "orange"]),
    (8, ["chocolate", "strawberry"]),
    (4, ["chocolate", "bonbon"]),
    (1, ["strawberry"]),
    (1, ["bonbon"]),
)


def test_wikipedia_food_election() -> None:
    result = scottish_stv(FOOD_BALLOTS, FOOD, seats=3, seed="food")

    # 20 ballots, 3 seats: quota 20 // 4 + 1 = 6. Chocolate's 12 give a surplus of 6: 6/12 = 0.5,
    # so strawberry 1 + 8 x 0.5 = 5 and bonbon 1 + 4 x 0.5 = 3.
    assert result.quota == "6.00000" and result.elected == ["chocolate", "orange", "strawberry"]
    assert result.rounds[1].transfer_values == {"1.00000": "0.50000"}
    assert result.rounds[1].votes["strawberry"] == "5.00000"
    assert result.rounds[1].votes["bonbon"] == "3.00000"
    # Pear (2) goes to orange, who then has exactly the quota: elected, but no surplus to pass on.
    assert result.rounds[2].elected == ["orange"] and result.rounds[2].votes["orange"] == "6.00000"
    # Bonbon (3) is excluded; strawberry (5) fills the last seat.
    assert result.rounds[3].excluded == ["bonbon"] and result.rounds[3].elected == ["strawberry"]


# OpaVote's worked example, as used by STVPoll (stvpoll_testing/test_opa_example.py): 3 seats,
# Scottish STV elects Alice, Bob and Chris; instant runoff elects Alice.
OPA = ["Alice", "Bob", "Chris", "Don", "Eric"]
OPA_BALLOTS = grouped(
    (28, ["Alice", "Bob", "Chris"]),
    (26, ["Bob", "Alice", "Chris"]),
    (3, ["Chris"]),
    (2, ["Don"]),
    (1, ["Eric"]),
)


def test_opavote_example() -> None:
    result = scottish_stv(OPA_BALLOTS, OPA, seats=3, seed="opa")

    # 60 ballots: quota 16. Alice (28) and Bob (26) are elected at once. Alice's surplus 12/28 =
    # 0.428571... -> 0.42857 passes over Bob to Chris: 3 + 28 x 0.42857 = 14.99996. Bob's surplus
    # 10/26 = 0.384615... -> 0.38461: Chris 14.99996 + 26 x 0.38461 = 24.99982, elected.
    assert result.quota == "16.00000" and result.elected == ["Alice", "Bob", "Chris"]
    assert result.rounds[1].votes["Chris"] == "14.99996"
    assert result.rounds[2].votes["Chris"] == "24.99982"
    assert instant_runoff(OPA_BALLOTS, OPA, seed="opa").elected == ["Alice"]


# --- Hand-worked counts for the tie rules --------------------------------------------------------

# Z 10, X 5, Y 4, A 3, B 2: 24 ballots.
TIE_NAMES = ["Z", "X", "Y", "A", "B"]
TIE_BALLOTS = grouped(
    (10, ["Z"]),
    (5, ["X", "Y"]),
    (4, ["Y"]),
    (1, ["A", "X"]),
    (2, ["A", "Z"]),
    (2, ["B", "Y"]),
)


def test_equal_lowest_looks_at_the_most_recent_stage_where_they_differed() -> None:
    result = scottish_stv(TIE_BALLOTS, TIE_NAMES, seats=1, seed="ties")

    # Quota 24 // 2 + 1 = 13.
    # Stage 2: B (2) out -> Y 6.            Z 10, X 5, Y 6, A 3
    # Stage 3: A (3) out -> X 6, Z 12.      Z 12, X 6, Y 6
    # Stage 4: X and Y tie on 6. At stage 2, the most recent where they differed, X had 5 and Y 6,
    # so X is excluded (at stage 1, the earliest, it was X 5 and Y 4). X's 5 papers go to Y (11),
    # the "A X" paper exhausts.
    # Stage 5: Y (11) out; Z (12) is the only continuing candidate and takes the seat (rule 52).
    assert result.excluded == ["B", "A", "X", "Y"] and result.elected == ["Z"]
    assert result.rounds[3].action == "X excluded (tied with Y; fewer votes at stage 2)"
    stage_4 = result.rounds[3]
    assert (stage_4.votes["Y"], stage_4.non_transferable) == ("11.00000", "1.00000")
    assert result.rounds[4].elected == ["Z"] and result.rounds[4].votes["Z"] == "12.00000"


def test_instant_runoff_tie_is_settled_by_the_earlier_round() -> None:
    result = instant_runoff(TIE_BALLOTS, TIE_NAMES, seed="ties")

    # Round 3: Z 12 of 24 is not more than half. Round 4: X and Y tie on 6, X had fewer at round 2
    # and is excluded; with the "A X" ballot exhausted Z has 12 of 23, a majority.
    assert [r.votes["Z"] for r in result.rounds] == ["10", "10", "12", "12"]
    assert result.rounds[3].action == "X excluded (tied with Y; fewer votes at round 2)"
    assert result.rounds[3].non_transferable == "1" and result.elected == ["Z"]
    assert result.excluded == ["B", "A", "X"] and result.quota is None


def test_equal_surpluses_go_in_order_of_the_earlier_stage() -> None:
    names = ["A", "B", "C", "D", "E"]
    ballots = grouped(
        (10, ["A", "C"]),
        (9, ["B", "E"]),
        (7, ["C"]),
        (8, ["E"]),
        (2, ["D", "A", "E"]),
        (3, ["D", "B", "C"]),
        (1, ["D"]),
    )

    result = scottish_stv(ballots, names, seats=3, seed="surpluses")

    # 40 ballots, 3 seats: quota 11. Stage 2: D (6) out -> A 12, B 12 (both elected), 1 exhausts.
    # Stage 3: equal surpluses of 1; at stage 1 A had 10 and B 9, so A's goes first, at
    # 1/12 = 0.08333: C 7 + 10 x 0.08333 = 7.83330, E 8 + 2 x 0.08333 = 8.16666.
    # Stage 4: B's surplus at 0.08333: E + 9 x 0.08333 = 8.91663, C + 3 x 0.08333 = 8.08329.
    # Stage 5: C out, E takes the last seat.
    assert set(result.rounds[1].elected) == {"A", "B"}
    stage_3 = result.rounds[2]
    assert stage_3.action == "surplus of A transferred (tied with B; more votes at stage 1)"
    assert result.rounds[2].transfer_values == {"1.00000": "0.08333"}
    assert [result.rounds[2].votes[n] for n in "ACE"] == ["11.00000", "7.83330", "8.16666"]
    assert [result.rounds[3].votes[n] for n in "BCE"] == ["11.00000", "8.08329", "8.91663"]
    assert result.rounds[4].elected == ["E"] and result.excluded == ["D", "C"]


def test_the_lot_is_the_seeded_sha256_order_and_is_noted() -> None:
    names = ["P", "Q", "R"]
    ballots = grouped((5, ["P"]), (1, ["Q"]), (1, ["R"]))

    for seed in ("proposal-1", "proposal-2", "proposal-3", "proposal-4"):
        result = scottish_stv(ballots, names, seats=2, seed=seed)
        # Q and R have 1 vote at every stage: the lot excludes the first of its order.
        drawn, other = lot_order(seed, ["Q", "R"])
        assert result.excluded == [drawn] and result.elected == ["P", other]
        assert len(result.tie_breaks) == 1 and f'"{seed}:<candidate>"' in result.tie_breaks[0]
        assert result == scottish_stv(list(reversed(ballots)), names, seats=2, seed=seed)


def test_lot_order_sorts_by_sha256_of_seed_and_id() -> None:
    def digest(candidate: str) -> str:
        return hashlib.sha256(f"s-1:{candidate}".encode()).hexdigest()

    ids = ["ana", "beto", "carla", "dario"]
    assert lot_order("s-1", ids) == sorted(ids, key=digest)


def test_instant_runoff_without_ballots_is_decided_by_lot() -> None:
    result = instant_runoff([], ["a", "b", "c"], seed="empty")

    order = lot_order("empty", ["a", "b", "c"])
    assert result.excluded == order[:2] and result.elected == [order[2]]
    assert len(result.tie_breaks) == 2 and "no valid ballots" in result.tie_breaks[0]
    assert instant_runoff([], ["only"], seed="x").elected == ["only"]


# --- Instant runoff ---------------------------------------------------------------------------

# The "Tennessee capital" example of en.wikipedia.org/wiki/Instant-runoff_voting and
# electowiki.org/wiki/Effects_of_different_voting_systems_under_similar_circumstances: under
# instant runoff Chattanooga and then Nashville are eliminated and Knoxville wins with 58%
# (Nashville is the Condorcet winner, not the instant-runoff one).
TENNESSEE = ["Memphis", "Nashville", "Chattanooga", "Knoxville"]
TENNESSEE_BALLOTS = grouped(
    (42, ["Memphis", "Nashville", "Chattanooga", "Knoxville"]),
    (26, ["Nashville", "Chattanooga", "Knoxville", "Memphis"]),
    (15, ["Chattanooga", "Knoxville", "Nashville", "Memphis"]),
    (17, ["Knoxville", "Chattanooga", "Nashville", "Memphis"]),
)


def test_tennessee_capital() -> None:
    result = instant_runoff(TENNESSEE_BALLOTS, TENNESSEE, seed="tn")

    assert [r.votes for r in result.rounds] == [
        {"Memphis": "42", "Nashville": "26", "Chattanooga": "15", "Knoxville": "17"},
        {"Memphis": "42", "Nashville": "26", "Chattanooga": "0", "Knoxville": "32"},
        {"Memphis": "42", "Nashville": "0", "Chattanooga": "0", "Knoxville": "58"},
    ]
    assert result.excluded == ["Chattanooga", "Nashville"] and result.elected == ["Knoxville"]
    assert result.method == "instant_runoff" and result.valid_ballots == 100


def test_wikipedia_food_election_by_instant_runoff() -> None:
    # Chocolate has 12 of 20 first preferences: a majority in the first round.
    result = instant_runoff(FOOD_BALLOTS, FOOD, seed="food")
    assert result.elected == ["chocolate"] and len(result.rounds) == 1


# --- Ballot handling and results ------------------------------------------------------------


def test_unknown_ids_repeats_and_empty_ballots_are_ignored() -> None:
    ballots = [["ghost", "A", "A", "B", "A"], ["ghost"], [], ["B", "B"]]

    result = scottish_stv(ballots, ["A", "B"], seats=1, seed="x")

    # Two valid ballots: quota 2 // 2 + 1 = 2; A 1, B 1, no quota: the lot excludes one, the other
    # is elected; A's ballot reads A then B, its repeat of A ignored.
    assert result.valid_ballots == 2 and result.quota == "2.00000"
    assert result.rounds[0].votes == {"A": "1.00000", "B": "1.00000"}
    assert instant_runoff(ballots, ["A", "B"], seed="x").valid_ballots == 2


def test_results_are_plain_json() -> None:
    stv = scottish_stv(FOOD_BALLOTS, FOOD, seats=3, seed="food").to_json()
    irv = instant_runoff(TENNESSEE_BALLOTS, TENNESSEE, seed="tn").to_json()
    vote = approval([{"a", "b"}], ["a", "b", "c"], top_n=1).to_json()

    for document in (stv, irv, vote):
        assert json.loads(json.dumps(document)) == document
    assert stv["method"] == "scottish_stv_2007" and stv["quota"] == "6.00000"
    assert irv["quota"] is None and vote["method"] == "approval"


def test_invalid_races_are_refused() -> None:
    with pytest.raises(ValueError, match="seat"):
        scottish_stv([], ["a"], seats=0, seed="x")
    with pytest.raises(ValueError, match="unique"):
        scottish_stv([], ["a", "a"], seats=1, seed="x")
    with pytest.raises(ValueError, match="candidate"):
        instant_runoff([], [], seed="x")
    with pytest.raises(ValueError, match="top_n"):
        approval([], ["a"], top_n=0)


def test_format_votes() -> None:
    assert [format_votes(v) for v in (0, 1, 123_456_78, 100_000)] == [
        "0.00000",
        "0.00001",
        "123.45678",
        "1.00000",
    ]


# --- Properties ----------------------------------------------------------------------------------

POOL = ["ana", "beto", "carla", "dario", "eva", "fer"]


@st.composite
def races(draw: st.DrawFn, complete: bool = False) -> tuple[list[str], Ballots, int, int]:
    """Candidates, ranked ballots (with stray ids and repeats unless `complete`), seats, and a
    shuffle seed."""
    candidates = POOL[: draw(st.integers(1, len(POOL)))]
    if complete:
        ranking = st.permutations(candidates).map(list)
    else:
        ranking = st.lists(st.sampled_from([*candidates, "ghost"]), max_size=len(candidates) + 1)
    ballots = draw(st.lists(ranking, max_size=60))
    return candidates, ballots, draw(st.integers(1, 4)), draw(st.integers(0, 2**32))


def first_preferences(ballots: Ballots, candidates: list[str]) -> tuple[dict[str, int], int]:
    counts = dict.fromkeys(candidates, 0)
    valid = 0
    for ballot in ballots:
        standing = [c for c in ballot if c in counts]
        if standing:
            counts[standing[0]] += 1
            valid += 1
    return counts, valid


@given(races())
def test_a_quota_of_first_preferences_is_elected_at_once(
    race: tuple[list[str], Ballots, int, int],
) -> None:
    candidates, ballots, seats, _ = race
    result = scottish_stv(ballots, candidates, seats, seed="p")

    counts, valid = first_preferences(ballots, candidates)
    quota = valid // (seats + 1) + 1
    assert result.valid_ballots == valid and result.quota == f"{quota}.00000"
    reached = {c for c, n in counts.items() if n >= quota}
    assert reached <= set(result.rounds[0].elected)


@given(races())
def test_exactly_the_seats_are_filled(race: tuple[list[str], Ballots, int, int]) -> None:
    candidates, ballots, seats, _ = race
    result = scottish_stv(ballots, candidates, seats, seed="p")

    # Candidates left when the continuing ones no longer outnumber the seats are elected even
    # without votes, so every seat is filled whenever enough candidates stand.
    assert len(result.elected) == min(seats, len(candidates))
    assert len(set(result.elected)) == len(result.elected)
    assert not set(result.elected) & set(result.excluded)


@given(races())
def test_the_order_of_the_ballots_does_not_matter(
    race: tuple[list[str], Ballots, int, int],
) -> None:
    candidates, ballots, seats, shuffle = race
    shuffled = list(ballots)
    random.Random(shuffle).shuffle(shuffled)

    assert scottish_stv(shuffled, candidates, seats, "p") == scottish_stv(
        ballots, candidates, seats, "p"
    )
    assert instant_runoff(shuffled, candidates, "p") == instant_runoff(ballots, candidates, "p")


@given(races())
def test_votes_are_conserved_up_to_the_truncation_of_transfer_values(
    race: tuple[list[str], Ballots, int, int],
) -> None:
    candidates, ballots, seats, _ = race
    result = scottish_stv(ballots, candidates, seats, seed="p")

    valid = result.valid_ballots * SCALE
    surplus_stages = 0
    for stage in result.rounds:
        surplus_stages += bool(stage.transfer_values)
        lost = valid - sum(units(v) for v in stage.votes.values()) - units(stage.non_transferable)
        # Each paper passed on in a surplus loses less than 0.00001 of a vote; nothing else does.
        assert 0 <= lost <= surplus_stages * result.valid_ballots


@given(races(complete=True))
def test_one_seat_stv_and_instant_runoff_agree_on_complete_rankings(
    race: tuple[list[str], Ballots, int, int],
) -> None:
    # With every candidate ranked no ballot exhausts, so the Droop quota floor(n/2) + 1 is exactly
    # a majority of the ballots still counting, exclusions see the same totals, ties are settled
    # by the same rule, and with one seat no surplus is ever transferred.
    candidates, ballots, _, _ = race

    stv = scottish_stv(ballots, candidates, seats=1, seed="p")
    irv = instant_runoff(ballots, candidates, seed="p")

    assert stv.elected == irv.elected


# --- Approval -----------------------------------------------------------------------------------


def test_approval_counts_and_top_n() -> None:
    ballots = [{"a", "b"}, ["a", "a"], ("c", "unknown"), set(), {"a", "c"}]

    result = approval(ballots, ["a", "b", "c", "d"], top_n=1)

    assert result.ballots == 5
    assert result.counts == {"a": 3, "c": 2, "b": 1, "d": 0}
    assert result.ranking == ["a", "c", "b", "d"]
    assert result.winners == ["a"] and result.tied_at_cutoff == []


def test_approval_tie_at_the_cutoff_lets_every_tied_option_in() -> None:
    tally = {"a": 5, "b": 3, "c": 3, "d": 3, "e": 1}
    ballots = [[o for o, n in tally.items() if n > i] for i in range(5)]

    result = approval(ballots, list(tally), top_n=2)

    assert result.winners == ["a", "b", "c", "d"]
    assert result.tied_at_cutoff == ["b", "c", "d"]
    assert approval(ballots, list(tally), top_n=4).tied_at_cutoff == []


def test_an_option_nobody_approved_never_wins() -> None:
    result = approval([{"a"}, {"a"}], ["a", "b", "c"], top_n=3)
    assert result.winners == ["a"] and result.tied_at_cutoff == []
    assert approval([set()], ["a", "b"], top_n=1).winners == []


@given(
    st.lists(st.sets(st.sampled_from(["a", "b", "c", "d", "e", "x"])), max_size=30),
    st.integers(1, 6),
)
def test_approval_winners_are_the_top_n_and_their_ties(ballots: list[set[str]], top_n: int) -> None:
    options = ["a", "b", "c", "d", "e"]
    result = approval(ballots, options, top_n)

    counts = {o: sum(o in b for b in ballots) for o in options}
    assert result.counts == {o: counts[o] for o in result.ranking}
    losers = [o for o in options if o not in result.winners]
    assert all(counts[w] > 0 for w in result.winners)
    assert all(counts[w] >= counts[o] for w in result.winners for o in losers)
    approved = sum(n > 0 for n in counts.values())
    assert len(result.winners) >= min(top_n, approved)
    assert (len(result.winners) > top_n) == bool(result.tied_at_cutoff)
