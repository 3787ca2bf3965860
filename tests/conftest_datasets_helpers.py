"""Tiny fake corpora shaped like the real ones in ../shared/data, for tests of propclf.datasets.

``write_fake_corpora(root)`` writes one small CSV per corpus file under ``root`` (same folder and
file names and columns as the real data, including its quirks: a bare CR inside an unquoted field,
PDF hyphenation, wire datelines, SATP source tails, tokenised forum text) and returns ``root``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

LONG_NEWS = (
    "BAGHDAD (Reuters) - Iraqi forces advanced on the western edge of the city on Sunday, "
    "officers said, as fighting continued for a third day.\n"
    " The offensive is backed by air strikes from the U.S.-led coalition, which said it hit "
    "several positions overnight and destroyed two vehicles near the river crossing.\n"
    " Residents who fled the area described heavy shelling and a shortage of food and water in "
    "the districts still held by the militants, according to aid workers at the camps.\n"
    " Ok.\n"
    " (Reporting by Jane Doe; Editing by John Roe)\n"
    " Source"
)


def _write(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")


def write_fake_corpora(root: Path) -> Path:
    """Write every corpus file of the registry, tiny, under ``root``; return ``root``."""
    _write(
        root / "fifthtribe" / "tweets.csv",
        ["name", "username", "description", "location", "followers", "numberstatuses",
         "EXTREME", "time", "tweets"],
        [
            ["A", "AbuFan1", "", "", "1", "1", "1", "1/1/2016 10:00",
             "We will slaughter the kuffar and raise the flag of the khilafah over Rome"],
            ["A", "AbuFan1", "", "", "1", "1", "", "1/1/2016 10:05",
             "The soldiers of the caliphate are victorious by the permission of Allah"],
            ["A", "AbuFan1", "", "", "1", "1", "0", "1/1/2016 10:06",
             "Clashes reported near the airport this morning"],
            ["A", "AbuFan1", "", "", "1", "1", "?", "1/1/2016 10:07",
             "Something uncertain was posted here today"],
            ["A", "AbuFan1", "", "", "1", "1", "", "1/1/2016 10:08",
             "https://t.co/abc @someone lol"],
            ["B", "RamiAlLolah", "Real-Time News", "", "1", "1", "", "1/1/2016 11:00",
             "Reports suggest #ISIS has blown up gas pipelines near Homs"],
            ["B", "RamiAlLolah", "Real-Time News", "", "1", "1", "1", "1/1/2016 11:05",
             "May Allah destroy the crusaders and their apostate dogs everywhere"],
            ["C", "Baqiyah_2", "", "", "1", "1", "", "1/1/2016 12:00",
             "RT @RamiAlLolah: Reports suggest #ISIS has blown up gas pipelines near Homs"],
            ["C", "Baqiyah_2", "", "", "1", "1", "m", "1/1/2016 12:05",
             "#AmaqAgency a Martyrdom Op destroys 2 armored vehicles killing the apostates"],
        ],
    )  # fmt: skip
    _write(
        root / "isextreme" / "tweets.csv",
        ["hashtags", "date", "time", "id", "name", "username", "tweet", "label", "translated"],
        [
            ["[]", "1/1/19", "10:00", "1", "X", "userP", "Allah yunsur dawlatul islam",
             "1", "May Allah give victory to the Islamic State, baqiya"],
            ["[]", "1/1/19", "10:01", "1", "Y", "userR", "ISIS claimed the attack, officials say",
             "0", "ISIS claimed the attack, officials say"],
            ["[]", "1/1/19", "10:02", "1", "Z", "userR", "Varane???", "0", "Varane???"],
        ],
    )  # fmt: skip
    _write(
        root / "stormfront" / "sentences.csv",
        ["file_id", "user_id", "subforum_id", "num_contexts", "label", "text"],
        [
            ["1_1", "100", "1", "0", "hate", "They do n't belong here , send them all back ."],
            ["1_2", "100", "1", "0", "noHate", "I went to the store today with my brother ."],
            ["1_3", "101", "1", "0", "relation", "And that is why ."],
            ["1_4", "101", "1", "0", "idk/skip", "Whatever you say about it ."],
        ],
    )
    _write(
        root / "ungdc" / "paragraphs.csv",
        ["country", "session", "year", "chunk_idx", "mentions_named_group_or_VE", "text"],
        [
            ["FRA", "56", "2001", "1", "1", "**1. Terrorism** We condemn terrorism in all its "
             "forms and stand with the victims of the attacks of 11 September."],
            ["AGO", "56", "2001", "2", "0", "Peace and security continue to be endangered by "
             "terrorist activities launched against some countries."],
        ],
    )  # fmt: skip
    _write(
        root / "crisislex" / "boston_ontopic_offtopic.csv",
        ["tweet id", " tweet", " label"],
        [
            ["'325208201740029952'", "Praying for everyone hurt at the marathon today",
             "on-topic"],
            ["'323630018536275968'", "Let me love you @GavinQuin you know who else too",
             "off-topic"],
        ],
    )  # fmt: skip
    mag_text = (
        "The mujāhidīn advanced on the  apostates  and took the villages.\n"
        "dabiq\n"
        "They captured weapons as ghanīmah and the cru-\n"
        "Exclusive\n"
        "saders fled in disgrace, by the grace of Allah \uf063.\n"
        "12 ARTICLE\n"
        "Short line"
    )
    (root / "is_magazines").mkdir(parents=True, exist_ok=True)
    header = "id,magazine,issue,headline,page_start,text,source_file\n"
    good = (
        "http://x/Dabiq2-Islamic-state-reports,Dabiq,2,Islamic state reports,12,"
        f'"{mag_text}",dabiqarticles.json\n'
    )
    bare_cr = (
        "http://x/Rumiyah3-Among-the-Believers-Are-Men:\rAbu-Abdillah,Rumiyah,3,"
        "Among the Believers Are Men:\rAbu Abdillah,13,"
        '"He was brave hearted and called to tawhid, spending his wealth for Allah.",'
        "rumiyaharticles.json\n"
    )
    (root / "is_magazines" / "articles.csv").write_text(
        header + good + bare_cr, encoding="utf-8", newline=""
    )
    _write(
        root / "farright_telegram" / "posts.csv",
        ["channel_name", "cleaned_message", "date", "msg_link", "views", "is_forward",
         "forward_msg_from_peer_name", "chunk", "farright_kw", "jihad_terror_kw"],
        [
            ["WhiteChan", "Our race will not be replaced. Stand up and fight for your people "
             "before it is too late. @WhiteChan", "2023-01-01", "https://t.me/WhiteChan/1", "5",
             "0", "", "p1", "1", "0"],
            ["WhiteChan", "The globalists want your nation erased, wake up White man and act",
             "2023-01-02", "https://t.me/WhiteChan/2", "5", "1", "Other", "p1", "1", "0"],
            ["WhiteChan", "Leg day today, eat your protein and lift heavy things boys",
             "2023-01-03", "https://t.me/WhiteChan/3", "5", "0", "", "p1", "0", "0"],
            ["leaklive", "Thousands of migrants at the border fence. Follow us -> LiveLeak",
             "2023-01-03", "https://t.me/leaklive/9", "5", "0", "", "p1", "1", "0"],
        ],
    )  # fmt: skip
    _write(
        root / "news_2016" / "articles.csv",
        ["date", "title", "source_domain", "source_url", "text", "file", "kw_relevant",
         "strict"],
        [
            ["2016-03-22", "Iraqi forces advance", "reuters.com", "http://r/1", LONG_NEWS,
             "_posts/2016-03-22-iraqi-forces-advance.md", "1", "1"],
            ["2016-01-10", "Smart glasses", "reuters.com", "http://r/2",
             "WARSAW A Polish non-profit hopes to help the blind with free smart glasses.\n Source",
             "_posts/2016-01-10-smart-glasses.md", "0", "0"],
        ],
    )  # fmt: skip
    _write(
        root / "fakes_syria" / "articles.csv",
        ["unit_id", "article_title", "article_content", "source", "date", "location", "labels",
         "text"],
        [
            ["1914947530", "Death toll rises", "Wed 05 Apr 2017 Death toll from Aleppo bomb attack "
             "rises to 112, a monitoring group said on Sunday. - REUTERS", "nna", "4/5/2017",
             "aleppo", "0", "x"],
            ["1914947531", "Strikes", "Date of publication 5 July 2016 Air strikes hit two "
             "hospitals in Idlib province, killing ten people, medics said.", "sana",
             "7/5/2016", "idlib", "1", "x"],
        ],
    )  # fmt: skip
    rss_header = ["source", "date", "title", "description", "link", "language", "file",
                  "kw_relevant", "archive_repo", "strict"]  # fmt: skip
    _write(
        root / "rss_news" / "militant_2020.csv",
        rss_header,
        [
            ["https://www.theguardian.com/rss", "2020-11-03 10:00:00",
             "Vienna attack: gunman was IS supporter | Jane Doe",
             "Police say the attacker had been jailed before  Austrian police said the gunman "
             "had tried to travel to Syria.   Continue reading...",
             "https://g/1", "en-UK", "f", "1", "r", "1"],
        ],
    )  # fmt: skip
    _write(
        root / "rss_news" / "sample_2020.csv",
        ["source", "date", "title", "description", "link", "language", "kw_relevant"],
        [
            ["http://feeds.bbci.co.uk/news/rss.xml", "2020-10-01 23:08:19",
             "US Election 2020: Can you trust the polls?",
             "Did US election polling get it wrong in 2016?", "https://b/1", "en-US", "0"],
        ],
    )  # fmt: skip
    _write(
        root / "satp" / "satp_terrorism.csv",
        ["is_relevant", "news"],
        [
            ["True", "Three soldiers were injured when militants attacked an army convoy in "
             "Handwara area on September 7, reports Daily Excelsior. The convoy was attacked "
             "near a bridge."],
            ["False", "Police arrested two suspects in Karachi on May 2 reports Dawn The two "
             "were handed over to investigators"],
        ],
    )  # fmt: skip
    _write(
        root / "satp" / "satp_actions.csv",
        ["Kidnapping", "Bombing", "ArmedAssault", "Other", "news"],
        [["True", "False", "False", "FALSE", "Two construction workers were abducted on "
          "February 27 for a ransom in Kangpokpi District reports Imphal Free Press on March 5"]],
    )  # fmt: skip
    _write(
        root / "isaf" / "isaf_press_releases_test.csv",
        ["text", "start_date", "event_type", "target_group", "annotation"],
        [
            ["2013-01-S-025\nISAF Joint Command - Afghanistan\nFor Immediate Release\n\n"
             "KABUL, Afghanistan (Jan. 25, 2013) — An Afghan and coalition security force "
             "arrested a Taliban leader in Kandahar province today.",
             "2013-01-25", "detention", "taliban", "{}"],
        ],
    )  # fmt: skip
    _write(
        root / "huffpost" / "huffpost_v3_first9998.csv",
        ["date", "category", "headline", "short_description", "authors", "link", "kw_relevant",
         "strict"],
        [["2022-09-23", "U.S. NEWS", "Over 4 Million Americans Get New Boosters",
          "Health experts said it is too early to predict demand.", "AP", "https://h/1", "0",
          "0"]],
    )  # fmt: skip
    _write(
        root / "huffpost" / "huffpost_fsl_headlines.csv",
        ["headline_lower_tokenized", "label_id", "category_inferred", "kw_relevant"],
        [
            ["joe scarborough : trump 's legal strategy is like ' a monkey '", "0", "POLITICS",
             "0"],
            ["hugh grant marries", "2", "ENTERTAINMENT", "0"],
        ],
    )  # fmt: skip
    return root
