"""A fourteenth set of wordings for the synthetic incident day (half=13), written by someone who had not read the
grouping code nor the earlier sets, before its one measurement."""

from __future__ import annotations

LOGIN_FOURTEENTH: list[str] = [
    "cannot enter to my account since morning, the app show 'Error 401 unauthorised' every time, que pasa??",
    "hola, the website keep sending me back to start page after I put my email and password. three times already",
    "my verification code never arrive, I press 'resend' like {n} times, nothing come to my phone",
    "app on my iPhone just spin spin spin after I tap Sign In, then white screen. nie działa",
    "it say my password is wrong but I change it 10 minutes ago to the new one!! kya bakwas hai",
    "account locked after 1 try?? I did not even type wrong, now it say wait 30 min",
    "cant get in 2 my acct!!! 😤😤",
    "'Session expired, please sign in again' - I sign in again and same message. loop infinito",
    (
        "yaar the Android app is asking me to verify email again and again, the link in the mail opens "
        "and then nothing happen"
    ),
    "Olá, I try to open my profile from {city} and the page give 'Something went wrong (code AUTH-500)'",
    "login broken?? tried chrome, tried safari, tried the app. nada",
    "I put the SMS code and it say 'code invalid' even it is the newest one. very frustrating",
    "after I enter my details it show my name for one second and then kick me out to the welcome screen",
    "wtf cant sign in on app OR website, been {n} hrs",
    "bhai your website not accepting my password since today, yesterday was working perfect",
    (
        "my wife and me both cannot get into our accounts on the app, it freeze on the Acme logo forever. "
        "pozdrawiam but please fix"
    ),
    "the 'Continue with Google' button on the app do nothing, I wait and wait and still on same screen",
    "my acc page blank after signin 🙄 fix it pls",
    (
        "es imposible, I want to see the {item} I saved in wishlist but the app don't let me inside, "
        "it say 'unable to verify your identity'"
    ),
    "reset password email not coming and old password not work. so I am locked outside of my own account",
]

PAYMENT_FOURTEENTH: list[str] = [
    "my card is declined on your checkout but the bank say everything ok, I have money!! qué vergüenza",
    "money gone from my account £{n} but no order confirmation, no email, nothing. where is my order?",
    "Apple Pay fail at the last step, show 'transaction could not be completed' 3 times",
    (
        "the page with the bank verification (the 3D secure thing) just stay white and loading forever, "
        "cannot finish to buy"
    ),
    "gift card code not working when I pay, it say 'invalid' but I got it as present last week",
    "charged twice for the same {item}!!! two times money taken. bardzo dobrze, very nice 😡",
    "checkout broken. click Place Order -> error 502. tried {n} times",
    "Google Pay says 'payment method not available' on your site only, in other shops work fine",
    "yaar I am trying to buy one {item} from morning, card keep getting rejected, tried 3 different cards",
    "voucher from the email not applying at the end, total stay same and then the pay button go grey",
    "pagamento não passa, the card page reload itself and empty all the fields",
    "cant pay 4 my basket!!! 'Something went wrong processing your card' 🤬",
    "the bank app ask me to approve, I approve, your website still say 'waiting for authorisation'",
    "I get notification from my bank £{n} taken two times but your site say order failed",
    "impossible to finish buying, the PayPal window open and close alone",
    "card number box not even loading on the pay page, just grey box. on laptop and phone same",
]

BACKGROUND_FOURTEENTH: list[str] = [
    "I logged in to track my parcel and it still say 'in transit' since {n} days. where is it??",
    "the refund to my card still not arrive, you told me 5 days, is now 3 weeks",
    "your app say my order was delivered but nobody come to my door, neighbours also nothing",
    "paid for next day delivery and it come after 4 days, I want the extra money back",
    "I receive wrong {item}, I order black one and get pink one. muy mal",
    "staff in the {city} store was very rude to my mother, she don't speak good English and he laugh",
    "the {item} broke after one week, the handle just fall off",
    "delivery fee went up again?? {n} pounds for small box is crazy",
    "return label in my account is not printing correct, barcode cut in half",
    "no stock in {city} store again, website said available in store",
    "app send me notification 10 times a day about sale, how to turn off",
    "price of the {item} change after I put in basket yesterday, today more expensive. not fair",
    "courier leave my parcel in the rain, box all wet 😡",
    "I sign in to your app to change my address but my order still go to the old address! now parcel lost",
    "bought {item} in {month} sale, already broken, customer service not answering emails",
    "waiting 45 min on the phone line, música terrible, nobody answer",
    "my account show loyalty points 0, before I had many points. where they go?",
    "card was charged for the return shipping but your policy say returns are free",
    "pls where is my order #{n}... ordered in {month}, still nothing 😩",
    "driver throw the parcel over my fence, glass {item} broken inside",
    "I paid with card in store and the receipt show different price than the shelf",
    "your newsletter say 20% off but in the shop in {city} they refuse to give the discount",
    "missing one item from my order, paid for 3 and get 2",
    "click and collect point in {city} closed when I arrive, the app say open until 8",
]
