"""A thirteenth set of wordings for the synthetic incident day (half=12), written by someone who had not
read the grouping code nor the earlier sets, before its one measurement."""

from __future__ import annotations

LOGIN_THIRTEENTH: list[str] = [
    (
        "Good morning. I have been trying since about half past eight to get into my Acme account on the "
        "computer so that I could check the delivery date for my order, but each time I type my password it "
        "simply returns me to the same page. Could someone please advise?"
    ),
    (
        "Dear Acme, my granddaughter set up the app for me and it has worked perfectly until today. Now it "
        "says 'Unable to sign you in at this time' and I do not know what I have done wrong."
    ),
    (
        "I would like to report that your website is not accepting my email address and password, which I "
        "know to be correct because I wrote them down. I have tried {n} times now."
    ),
    (
        "Is there a problem with accounts today? My husband and I both use the app on separate phones and "
        "neither of us can get past the first screen."
    ),
    (
        "Having some difficulty. I enter my details, the little circle goes round for a minute or so and "
        "then I am back where I started with no message at all."
    ),
    (
        "I requested a new password as suggested, received the email, set a new one, and it still tells me "
        "my details are incorrect. This is most frustrating."
    ),
    (
        "Your app is asking me to verify my identity with a code sent by text message but no text has "
        "arrived. I have checked that the mobile number is correct."
    ),
    (
        "I was part way through updating my delivery address when the website said my session had ended, and "
        "now I cannot get back in at all."
    ),
    (
        "Please could you tell me why the website shows 'Error 403 - access denied' when I try to view my "
        "account? I am using an iPad and have not changed anything."
    ),
    (
        "I have been a loyal customer for many years and I am very disappointed that I cannot access my own "
        "account today to see my points balance."
    ),
    (
        "The page where one enters one's details on your website keeps reloading itself. I have cleared my "
        "cookies as my son suggested but it has made no difference whatsoever."
    ),
    (
        "I am writing on behalf of my mother, who is unable to get into her Acme account to check on a "
        "parcel. We have tried on her laptop and on my phone with the same result."
    ),
    (
        "Could you please confirm whether there is a known fault with logging in? I would rather not keep "
        "trying in case the account becomes locked."
    ),
    (
        "My account has now been locked after several attempts, although I am certain I was typing the "
        "correct password. How do I go about unlocking it?"
    ),
    (
        "I wished to use the gift card I received at Christmas but I cannot even reach my account page. It "
        "just says 'We're having trouble, please try again later.'"
    ),
    (
        "Good afternoon. The Acme app opens normally but when I press 'My Account' it thinks for a while and "
        "then closes itself, taking me back to the home screen."
    ),
    (
        "Every time I attempt to sign in I receive the message 'Too many requests'. I have only tried twice. "
        "Is the system overloaded?"
    ),
    (
        "I had been signed in on my laptop for months without any trouble, and this morning it has logged me "
        "out and will not let me back in."
    ),
    (
        "Apologies if this is the wrong place to ask. I am trying to look at my previous orders so I can "
        "return an item, but the website will not recognise me."
    ),
    (
        "Good evening, since today I cannot to enter my profile in the Acme application, after I write the "
        "password it show white page only. Windows 10, Chrome and Firefox both same. Thank you."
    ),
]


PAYMENT_THIRTEENTH: list[str] = [
    (
        "I have attempted to purchase a coat from your website three times this morning and on each occasion "
        "the payment has been refused, although my bank assures me there is nothing wrong with my card."
    ),
    (
        "Could you please explain why I have been charged £{n} when I have not received any confirmation of "
        "my order? There is nothing showing under my orders."
    ),
    (
        "When I press the button to complete my purchase the page simply goes blank. I have waited and tried "
        "again but the order will not go through."
    ),
    (
        "My debit card is being declined by your website, yet I used it in the supermarket only an hour ago "
        "without difficulty."
    ),
    (
        "I am most concerned. The money has left my account but your website says the transaction failed. Am "
        "I going to receive the goods or a refund?"
    ),
    (
        "Is there a problem with taking payments today? I have tried both my credit card and PayPal and "
        "received an error message each time."
    ),
    (
        "I was hoping to order a present for my grandson for delivery tomorrow, but each time I get to the "
        "final stage I am told 'Payment could not be processed (code 502)'."
    ),
    (
        "I have now been charged twice for the same order and still have no confirmation email. I would be "
        "grateful if someone could look into this urgently."
    ),
    (
        "Your checkout asks me to confirm with my bank, I do so in my banking app, and then your page says "
        "the payment has timed out."
    ),
    (
        "I wanted to take advantage of the sale but I am unable to complete the purchase. The card details "
        "are entered correctly and I have checked them several times."
    ),
    (
        "Hello, I am trying to pay for my order since {n} minutes and the page always return to the basket "
        "without taking the money. Can you fix this please?"
    ),
    (
        "I would like to know whether the fault with card payments is being dealt with, as I have a number "
        "of items waiting in my basket."
    ),
    (
        "Having entered all of my details and the security code, I was told the card had been rejected. This "
        "has never happened before with Acme."
    ),
    (
        "The order total was taken from my account this morning but the order does not appear anywhere. I "
        "have the bank statement to prove it."
    ),
    (
        "I attempted to reserve an item for collection in store and it failed at the point of paying. I "
        "should like to know if this is a general problem."
    ),
    (
        "Please note that Apple Pay and Google Pay are both failing on your site at the moment, at least for "
        "my wife and myself."
    ),
]


BACKGROUND_THIRTEENTH: list[str] = [
    (
        "I logged into my account this morning and can see my refund for the {item} has still not been "
        "processed, although I returned it over {n} days ago."
    ),
    (
        "I paid extra for next day delivery and the parcel did not arrive until three days later. I feel I "
        "should be reimbursed the delivery charge."
    ),
    (
        "The {item} I purchased from your {city} branch in {month} has stopped working and I would like to "
        "know what my options are."
    ),
    (
        "I wish to complain about the attitude of a member of staff at your {city} store, who was quite "
        "abrupt with me when I asked for help."
    ),
    (
        "Could you please remove me from your mailing list? I have unsubscribed several times and am still "
        "receiving emails."
    ),
    (
        "My parcel was marked as delivered but I have been at home all day and nothing has arrived. The "
        "neighbours have not got it either."
    ),
    (
        "The app closes by itself whenever I try to use the barcode scanner in store. It has done this for a "
        "few weeks now."
    ),
    (
        "I paid by card in the {city} store and the receipt shows the wrong price for the {item}. It was "
        "labelled at a lower price on the shelf."
    ),
    (
        "There were no baskets or trolleys available at the {city} store this morning and the queue at the "
        "tills was very long."
    ),
    "I ordered {n} items and only received half of them, with no explanation in the box.",
    "Thank you to the gentleman at the {city} store who carried my shopping to the car. Very kind.",
    (
        "I have signed in to my account to change my email preferences but cannot find where the option is. "
        "Would you kindly point me in the right direction?"
    ),
    "The instructions that came with the {item} are only in German, which is not much help to me.",
    "I was told I would receive a refund to my card within five working days and it has now been two weeks.",
    (
        "Could you tell me whether the {item} is likely to be back in stock before {month}? I have been "
        "checking for some time."
    ),
    "The courier left my parcel on the doorstep in the pouring rain and the box was soaked through.",
    (
        "I received a voucher by email for my birthday but the shop assistant said it could not be used in "
        "store. Is that correct?"
    ),
    "Your advertisement on the television shows a price that is different from the one in the shop. Which is correct?",
    "I paid for assembly of my {item} and the man who came did not have the correct tools and had to leave.",
    "The toilets at the {city} store have been out of order for weeks, which is difficult for older customers.",
    (
        "I was sent an email asking me to review a product I never ordered, which makes me wonder whether my "
        "account details have been mixed up with someone else's."
    ),
    "My loyalty points from last month's shopping have not been added, although I scanned my card at the till.",
    "The sizing on your website is very misleading. The {item} I ordered in a medium would fit a child.",
    "I would like to thank your customer service team for sorting out my damaged delivery so promptly last week.",
]
